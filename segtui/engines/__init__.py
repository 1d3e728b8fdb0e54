"""Engines that run segtui's SQL where the data is: DuckDB and Spark (polars is the in-process one).

UI-free: the functions take data (a reading plan, feature declarations, a model) and an engine,
and return data (rows written, small statistics). See :mod:`segtui.engines.features`.
"""
