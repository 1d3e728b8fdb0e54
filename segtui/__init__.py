"""segtui: behavioral audience segments from raw event logs, in the terminal.

The package is a UI-free core laid out along the flow of data (``ingest`` -> ``features`` ->
``clustering`` -> ``segments`` -> ``artifacts``, then ``pipeline``), with the command line in
``segtui.cli`` and the Textual app in ``segtui.app`` as thin layers on top.

The names below are the small public Python API. They are loaded on first use, so importing
``segtui`` (and ``segtui --version``) pulls in neither polars nor scikit-learn::

    import segtui

    data = segtui.load_users(["events.csv"])
    prep = segtui.PrepSpec.for_data(data)
    run = segtui.segment(data.users, prep, segtui.FitSpec(params={"k": 6}))
    print(run.segmentation.names)
    segtui.export(segtui.ExportTarget(Path("segments.parquet")), run.fitted(), data.provenance)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_API: dict[str, tuple[str, str]] = {
    "load_events": ("segtui.ingest.events", "load_events"),
    "load_users": ("segtui.pipeline", "load_users"),
    "build_features": ("segtui.pipeline", "build_features"),
    "segment": ("segtui.pipeline", "run_segmentation"),
    "sweep": ("segtui.pipeline", "run_sweep"),
    "export": ("segtui.artifacts.export", "export_segments"),
    "ExportTarget": ("segtui.artifacts.fitted", "ExportTarget"),
    "assign": ("segtui.artifacts.assign", "assign"),
    "read_model": ("segtui.artifacts.model", "read_model"),
    "Segmentation": ("segtui.segments.segmentation", "Segmentation"),
    "PrepSpec": ("segtui.clustering.specs", "PrepSpec"),
    "FitSpec": ("segtui.clustering.specs", "FitSpec"),
    "InputError": ("segtui.errors", "InputError"),
}
"""Public name -> (module, attribute). None of these names is a subpackage's name."""

__all__ = [
    "ExportTarget",
    "FitSpec",
    "InputError",
    "PrepSpec",
    "Segmentation",
    "__version__",
    "assign",
    "build_features",
    "export",
    "load_events",
    "load_users",
    "read_model",
    "segment",
    "sweep",
]

if TYPE_CHECKING:
    from segtui.artifacts.assign import assign
    from segtui.artifacts.export import export_segments as export
    from segtui.artifacts.fitted import ExportTarget
    from segtui.artifacts.model import read_model
    from segtui.clustering.specs import FitSpec, PrepSpec
    from segtui.errors import InputError
    from segtui.ingest.events import load_events
    from segtui.pipeline import build_features, load_users
    from segtui.pipeline import run_segmentation as segment
    from segtui.pipeline import run_sweep as sweep
    from segtui.segments.segmentation import Segmentation


def __getattr__(name: str) -> Any:
    """Import a public name's module on first use (PEP 562)."""
    try:
        module, attribute = _API[name]
    except KeyError:
        raise AttributeError(f"module 'segtui' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_API))
