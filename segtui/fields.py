"""Checked reads of the JSON objects segtui writes (model files), each error naming its key.

A model is read section by section by the module that owns each section (the preparation, the
cluster state, the projection, the splits); they all read through :class:`Fields`, so every
problem reads the same way: ``model key 'cluster.state.centers' has rows of 3 values for 2
features``, with one hint on what to do.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from segtui.errors import InputError

MODEL_HINT = (
    "The model file is damaged or was edited by hand; export it again with `segtui segment`."
)
"""What to do about a model that cannot be read back."""

MAX_JSON_DEPTH = 64
"""Nesting a JSON file of ours may have (a model is 5 deep); deeper is refused, not recursed."""
MAX_TOML_DEPTH = 32
"""Nesting a TOML file of ours may have (mappings and feature files are 3 deep)."""
MAX_DIGITS = 300
"""Digits a number in a file of ours may have; a float has at most 309 before it is infinite."""
MAX_FITTED_VALUE = 1e100
"""Largest value a fitted matrix (centers, projection) may hold: the data is scaled, so real
values are small, and squaring one past this would overflow a distance to infinity."""
INT_LIMIT = 2**63
"""Whole numbers must fit 64 bits (ids, seeds, counts): a bigger one would overflow numpy."""


def loads_json(text: str, file: str | Path | None = None) -> Any:
    """``json.loads`` with bounds: nesting, number size. A syntax error is left to the caller
    (a ``json.JSONDecodeError``, which it words with the line and column)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        raise
    except RecursionError:
        raise _too_deep(file, MAX_JSON_DEPTH) from None
    except ValueError as error:  # an integer past Python's 4,300-digit limit
        raise InputError(f"a number in the file is too long ({error})", file=file) from None
    check_bounds(data, MAX_JSON_DEPTH, file)
    return data


def loads_toml(text: str, file: str | Path | None = None) -> dict[str, Any]:
    """``tomllib.loads`` with the same bounds; a ``tomllib.TOMLDecodeError`` is the caller's."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        raise
    except RecursionError:
        raise _too_deep(file, MAX_TOML_DEPTH) from None
    except ValueError as error:
        raise InputError(f"a number in the file is too long ({error})", file=file) from None
    check_bounds(data, MAX_TOML_DEPTH, file)
    return data


def check_bounds(data: Any, max_depth: int, file: str | Path | None = None) -> None:
    """Refuse nesting past ``max_depth`` and numbers past :data:`MAX_DIGITS` (iteratively)."""
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, Mapping | list):
            if depth > max_depth:
                raise _too_deep(file, max_depth)
            items = value.values() if isinstance(value, Mapping) else value
            stack.extend((item, depth + 1) for item in items)
        elif _is_int(value) and abs(value) >= 10**MAX_DIGITS:
            raise InputError(f"a number in the file has more than {MAX_DIGITS} digits", file=file)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _too_deep(file: str | Path | None, limit: int) -> InputError:
    return InputError(
        f"the file is nested more than {limit} levels deep; segtui's files never are",
        file=file,
        hint="It is not a file segtui wrote, or it was damaged.",
    )


_KIND_NAMES = {dict: "an object", list: "a list", str: "text", int: "an integer", float: "a number"}


def _kind_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    named = " or ".join(_KIND_NAMES.get(k, k.__name__) for k in kinds if k is not type(None))
    return named + (" or null" if type(None) in kinds else "")


class Fields:
    """Typed reads of one JSON object; ``where`` is its key path in the file ("" at the top)."""

    def __init__(
        self, data: Any, file: str | Path | None = None, where: str = "cluster.state"
    ) -> None:
        if not isinstance(data, Mapping):
            raise InputError(f"model key '{where}' must be an object", file=file, hint=MODEL_HINT)
        self.data = data
        self.file = file
        self.where = where

    def path(self, key: str) -> str:
        return f"{self.where}.{key}" if self.where else key

    def error(self, key: str, what: str) -> InputError:
        return InputError(f"model key '{self.path(key)}' {what}", file=self.file, hint=MODEL_HINT)

    def get(self, key: str, kind: type | tuple[type, ...]) -> Any:
        """The value at ``key``, which must be there and of ``kind`` (true/false is no number)."""
        if key not in self.data:
            raise self.error(key, "is missing")
        value = self.data[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if isinstance(value, bool) and bool not in kinds:
            raise self.error(key, f"must be {_kind_name(kind)}, not true/false")
        if not isinstance(value, kind):
            raise self.error(key, f"must be {_kind_name(kind)}, not {type(value).__name__}")
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= INT_LIMIT:
            raise self.error(key, "is too large (more than 64 bits)")
        return value

    def optional(self, key: str, kind: type, default: Any) -> Any:
        return default if self.data.get(key) is None else self.get(key, kind)

    def section(self, key: str) -> Fields:
        """The object at ``key``, read with its own key path."""
        return Fields(self.get(key, dict), self.file, self.path(key))

    def items(self, key: str) -> list[Fields]:
        """The objects of the list at ``key`` (``key[0]``, ``key[1]``, ...)."""
        return [
            Fields(item, self.file, f"{self.path(key)}[{i}]")
            for i, item in enumerate(self.get(key, list))
        ]

    def names(self, key: str, what: str = "a list of feature names") -> list[str]:
        value = self.get(key, list)
        if not all(isinstance(v, str) for v in value):
            raise self.error(key, f"must be {what}")
        return list(value)

    def ints(self, key: str) -> list[int]:
        value = self.get(key, list)
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
            raise self.error(key, "must be a list of integers")
        return list(value)

    def identity(self) -> dict[str, Any]:
        """The algorithm and segment count a fit records (absent from older and split states)."""
        return {
            "algorithm": self.optional("algorithm", str, None),
            "n_segments": self.optional("n_segments", int, None),
        }

    def matrix(self, key: str, n_features: int | None) -> np.ndarray:
        """Rows of finite numbers, ``n_features`` wide when given (an empty list is 0 rows)."""
        value = self.get(key, list)
        try:
            arr = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError):
            raise self.error(key, "must be a list of rows of numbers") from None
        if arr.size == 0:
            return arr.reshape(0, n_features or 0)
        if arr.ndim != 2:
            raise self.error(key, "must be a list of rows of numbers")
        if n_features is not None and arr.shape[1] != n_features:
            raise self.error(key, f"has rows of {arr.shape[1]} values for {n_features} features")
        if not np.isfinite(arr).all():
            raise self.error(key, "holds values that are not finite numbers")
        if arr.size and np.abs(arr).max() > MAX_FITTED_VALUE:
            raise self.error(key, "holds values too large for a fitted model")
        return arr

    def labels(self, key: str, count: int) -> np.ndarray:
        """``count`` segment ids (one per row of the matrix they go with), -1 meaning none.

        Each is at least -1 and below the state's ``n_segments`` when it records one (else
        below 2**31): an id past them would label new users with a segment that is not there.
        """
        value = self.get(key, list)
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
            raise self.error(key, "must be a list of integers")
        if len(value) != count:
            raise self.error(key, f"has {len(value)} for {count}")
        segments = self.optional("n_segments", int, None)
        high = segments if segments is not None else 2**31
        bad = next((v for v in value if not -1 <= v < high), None)
        if bad is not None:
            limit = f"{high - 1}" if segments is not None else "2**31 - 1"
            raise self.error(key, f"holds {bad}, outside -1 to {limit}")
        return np.asarray(value, dtype=np.int64).reshape(count)

    def numbers(self, key: str, count: int | None = None) -> np.ndarray:
        """A (possibly nested) list of numbers; ``count`` values when given."""
        value = self.get(key, list)
        if count is not None and len(value) != count:
            raise self.error(key, f"has {len(value)} values for {count}")
        try:
            return np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError):
            raise self.error(key, "must be a list of numbers") from None
