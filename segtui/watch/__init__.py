"""Keeping segments current as events arrive: a state database, batches folded in, moves logged.

The flow: :mod:`segtui.watch.state` holds the DuckDB file (its tables and how to open it),
:mod:`segtui.watch.fold` folds one batch of canonical events into it in one transaction,
:mod:`segtui.watch.scoring` labels every user with the model (and the hysteresis thresholds),
:mod:`segtui.watch.drift` measures how far the population moved, :mod:`segtui.watch.sources`
turns an inbox folder or stdin into batches, and :mod:`segtui.watch.run` is the loop the
``segtui watch`` commands drive.
"""
