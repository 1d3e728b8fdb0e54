"""Reading a fitted clustering back from a model file, each key checked and named when wrong.

A state is the ``cluster.state`` object of the model JSON; every error names the key there
(``model key 'cluster.state.centers' ...``), as the rest of the model's parsing does.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from segtui.errors import InputError

MODEL_HINT = "The model file may be corrupt or hand-edited; export the model again."
"""What to do about fitted parameters that cannot be read back."""

_KIND_NAMES = {dict: "an object", list: "a list", str: "text", int: "an integer"}


class StateFields:
    """Typed reads of one state dict; ``where`` is its key path in the model file."""

    def __init__(
        self, data: Any, file: str | Path | None = None, where: str = "cluster.state"
    ) -> None:
        if not isinstance(data, Mapping):
            raise InputError(f"model key '{where}' must be an object", file=file, hint=MODEL_HINT)
        self.data = data
        self.file = file
        self.where = where

    def error(self, key: str, what: str) -> InputError:
        return InputError(f"model key '{self.where}.{key}' {what}", file=self.file, hint=MODEL_HINT)

    def get(self, key: str, kind: type) -> Any:
        """The value at ``key``, which must be there and of ``kind`` (true/false is no number)."""
        if key not in self.data:
            raise self.error(key, "is missing")
        value = self.data[key]
        if isinstance(value, bool) and kind is not bool:
            raise self.error(key, f"must be {_KIND_NAMES[kind]}, not true/false")
        if not isinstance(value, kind):
            raise self.error(key, f"must be {_KIND_NAMES[kind]}, not {type(value).__name__}")
        return value

    def optional(self, key: str, kind: type, default: Any) -> Any:
        return default if self.data.get(key) is None else self.get(key, kind)

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
        return arr

    def labels(self, key: str, count: int) -> np.ndarray:
        """``count`` integers (one segment id per row of the matrix they go with)."""
        value = self.get(key, list)
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
            raise self.error(key, "must be a list of integers")
        if len(value) != count:
            raise self.error(key, f"has {len(value)} for {count}")
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
