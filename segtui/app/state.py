"""The values the app's session state is made of: what the person chose, what is running, and
the line a screen shows where the person is looking.

They are frozen: the App holds them in typed reactives and replaces them whole, so every watcher
sees one consistent value, and a screen that wants a change asks the App (``SegtuiApp.choose``)
instead of writing into a shared object.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from segtui.app import pipeline
from segtui.clustering.specs import FitSpec


@dataclass(frozen=True)
class Choices:
    """What the person picked for the fit (the inputs of the explore screen's setup panel)."""

    features: tuple[str, ...] = ()
    algorithm: str = "kmeans"
    params: Mapping[str, Any] = field(default_factory=dict)
    seed: int = 0
    sample_size: int | None = None
    weighting: str = "within-segment"
    """How features are weighted (``PrepSpec.weighting``): the setup panel offers
    within-segment and none for the K-Means family."""

    def request(self) -> pipeline.FitRequest:
        fit = FitSpec(self.algorithm, self.params, self.seed, self.sample_size)
        return pipeline.FitRequest(tuple(self.features), fit, self.weighting)

    @classmethod
    def from_request(cls, request: pipeline.FitRequest) -> Choices:
        """The choices that produced ``request`` (the setup going back to a shown fit)."""
        return cls(
            tuple(request.features),
            request.fit.algorithm,
            dict(request.fit.params),
            request.fit.seed,
            request.fit.sample_size,
            request.weighting,
        )

    def with_param(self, name: str, value: Any) -> Choices:
        return replace(self, params={**self.params, name: value})


@dataclass(frozen=True)
class Activity:
    """A job the person waits for: what it is doing and how far (0..1, None when unknown)."""

    stage: str
    fraction: float | None = None


@dataclass(frozen=True)
class Note:
    """A sentence for the line under the segments table (an ``error`` rings the bell)."""

    text: str
    error: bool = False
