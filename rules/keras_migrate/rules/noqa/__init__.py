"""K9xx: about the tool's own suppression comments (``# noqa``), as ruff's RUF100."""
