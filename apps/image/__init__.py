"""The Image tab: ``actions`` (what it does, no widgets) and ``layout`` (its widgets)."""
