"""The tool's version (one place: the build reads it too, pyproject [tool.hatch.version])."""
__version__ = "0.1.0"
