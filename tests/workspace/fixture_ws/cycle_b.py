from cycle_a import A


class B(A):
    pass
