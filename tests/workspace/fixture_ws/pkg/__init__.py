"""A user's package: a base layer, blocks built on it, re-exported here."""
from .base import BaseLayer
from .blocks import Block as PublicBlock

__all__ = ["BaseLayer", "PublicBlock"]
