"""Planted worlds for measuring segment quality on logs segtui was not tuned on (see worlds.py)."""
