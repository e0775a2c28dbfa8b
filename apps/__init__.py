"""The browser app of `gen`: ``python -m apps.app`` (see apps/app.py)."""
