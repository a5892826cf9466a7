from pkg.blocks import Block
from pkg import PublicBlock


class Deeper(Block):
    pass


class ViaReexport(PublicBlock):
    pass
