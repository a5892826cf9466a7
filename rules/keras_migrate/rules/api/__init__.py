"""K5xx: removed and renamed API, driven by keras_api.json (see README.md)."""
