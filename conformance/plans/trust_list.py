"""Plan (to be written)."""
