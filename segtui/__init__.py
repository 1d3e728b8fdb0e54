"""segtui: behavioral audience segments from raw event logs, in the terminal.

The package is a UI-free core (loading, features, clustering, segments, export) with the Textual
app in ``segtui.app`` and the command line in ``segtui.cli`` as thin layers on top.
"""

__version__ = "0.1.0"
