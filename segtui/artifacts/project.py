"""The project file: a person's whole session in one small JSON file, so work is never lost.

A project names the data (paths, relative to the project file when they sit beside it), the
loading options and mapping, the chosen features, the algorithm with its parameters and seed, and
the Segmentation's edits. Reopening it re-runs the same deterministic pipeline and replays the
edits, which gives back exactly what was saved. The file is plain data: this module knows nothing
about the app, and the mapping and Segmentation are stored as the dicts their own modules write.

    >>> project = Project(data_paths=["events.csv"], features=["events", "purchases"])
    >>> Project.from_dict(project.to_dict()) == project
    True
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from segtui.clustering.specs import FitSpec, check_weighting
from segtui.errors import InputError
from segtui.fields import loads_json
from segtui.fileio import read_text_file, write_text_atomic

SCHEMA_VERSION = 2
"""Bumped when the file's meaning changes; a newer file is refused rather than misread.
2: the feature ``weighting`` (a version 1 file has none and reads as "none")."""

PROJECT_SUFFIX = ".segtui.json"
_FIT_KEYS = ("algorithm", "params", "seed", "sample_size")


def is_project_path(path: str | Path) -> bool:
    """True when ``path`` names a segtui project file (by its ``.segtui.json`` suffix)."""
    return str(path).endswith(PROJECT_SUFFIX)


@dataclass
class Project:
    """Everything needed to rebuild a session: inputs, choices and edits, never results."""

    data_paths: list[str] = field(default_factory=list)
    load_options: dict[str, Any] = field(default_factory=dict)
    mapping: dict[str, Any] | None = None
    features: list[str] = field(default_factory=list)
    fit: FitSpec = field(default_factory=FitSpec)
    """Stored flat (``algorithm``, ``params``, ``seed``, ``sample_size``) as version 1 files are."""
    as_of: str | None = None
    segmentation: dict[str, Any] | None = None
    version: int = SCHEMA_VERSION
    weighting: str = "within-segment"
    """The feature weighting (``PrepSpec.weighting``). Files written before it existed were
    fitted without weights, so a file without the key reads as "none" and reopens as it was."""

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data, in the keys every project file has had."""
        data = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "fit"}
        at = list(data).index("as_of")
        items = list(data.items())
        return dict([*items[:at], *self.fit.to_dict().items(), *items[at:]])

    @classmethod
    def from_dict(cls, data: Any, *, file: str | Path | None = None) -> Project:
        """Check and build a project from parsed JSON; a wrong shape is an InputError."""
        if not isinstance(data, dict):
            raise InputError("a project file must hold a JSON object", file=file)
        version = data.get("version", SCHEMA_VERSION)
        if not isinstance(version, int) or version > SCHEMA_VERSION:
            raise InputError(
                f"this project was written by a newer segtui (project version {version}, "
                f"this segtui reads up to {SCHEMA_VERSION})",
                file=file,
                hint="Upgrade segtui to open it.",
            )
        known = (set(cls.__dataclass_fields__) - {"fit"}) | set(_FIT_KEYS)
        unknown = sorted(set(data) - known)
        if unknown:
            raise InputError(
                f"unknown keys in project file: {', '.join(unknown)}",
                file=file,
                hint=f"Known keys: {', '.join(sorted(known))}.",
            )
        checks: dict[str, tuple[type | tuple[type, ...], bool]] = {
            "data_paths": (list, False),
            "load_options": (dict, False),
            "mapping": (dict, True),
            "features": (list, False),
            "algorithm": (str, False),
            "params": (dict, False),
            "seed": (int, False),
            "sample_size": (int, True),
            "as_of": (str, True),
            "segmentation": (dict, True),
            "weighting": (str, False),
        }
        for key, (kind, nullable) in checks.items():
            if key not in data:
                continue
            value = data[key]
            if value is None and nullable:
                continue
            if not isinstance(value, kind) or (isinstance(value, bool) and kind is int):
                raise InputError(
                    f"'{key}' has the wrong type ({type(value).__name__})",
                    file=file,
                    hint="Fix the file by hand or save the project again from the app.",
                )
        for key in ("data_paths", "features"):
            if not all(isinstance(item, str) for item in data.get(key, [])):
                raise InputError(f"'{key}' must be a list of strings", file=file)
        fit = FitSpec.from_dict({k: data[k] for k in _FIT_KEYS if k in data}, file=file)
        rest = {key: value for key, value in data.items() if key in known and key not in _FIT_KEYS}
        rest["weighting"] = check_weighting(data.get("weighting", "none"), file)
        return cls(**rest, fit=fit)

    def resolved_paths(self, base: str | Path) -> list[Path]:
        """The data paths made absolute; relative ones are read from ``base``."""
        folder = Path(base)
        return [
            path if path.is_absolute() else folder / path for path in map(Path, self.data_paths)
        ]


def _relative_to(path: str | Path, folder: Path) -> str:
    """A data path as stored: relative to the project folder when it lives under it."""
    absolute = Path(path).resolve()
    try:
        return absolute.relative_to(folder.resolve()).as_posix()
    except ValueError:
        return str(absolute)


def save_project(project: Project, path: str | Path) -> Path:
    """Write ``project`` to ``path`` atomically; data paths under its folder are stored relative."""
    target = Path(path)
    if not is_project_path(target):
        target = target.with_name(target.name + PROJECT_SUFFIX)
    folder = target.parent if str(target.parent) else Path(".")
    data = project.to_dict()
    data["data_paths"] = [_relative_to(item, folder) for item in project.data_paths]
    write_text_atomic(target, json.dumps(data, indent=2, sort_keys=False) + "\n")
    return target


def load_project(path: str | Path) -> Project:
    """Read a project file; its data paths come back absolute, resolved from the file's folder."""
    source = Path(path)
    text = read_text_file(source, "project file")
    try:
        data = loads_json(text, source)
    except json.JSONDecodeError as error:
        raise InputError(f"not valid JSON ({error.msg})", file=source, row=error.lineno) from None
    project = Project.from_dict(data, file=source)
    project.data_paths = [str(item) for item in project.resolved_paths(source.parent)]
    return project
