from cycle_b import B


class A(B):
    pass
