"""What the explore and detail screens read off the core's results: table rows, profile lines,
traits, the fit's diagnostics as text. Shared by both screens, so neither imports the other.

The results' fields are the core's; these helpers read them defensively (a diagnostic a family
does not compute is None) and format every number with :mod:`segtui.formatting`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from rich.text import Text

from segtui.app.widgets.bars import FeatureLine
from segtui.app.widgets.segments_table import SegmentRow
from segtui.formatting import number

if TYPE_CHECKING:
    from segtui.app.pipeline import FitOutcome, SegmentsView
    from segtui.clustering.autok import KChoice
    from segtui.clustering.diagnostics import SweepResult
    from segtui.pipeline import Evidence
    from segtui.segments.profiles import SegmentProfile

DIAGNOSTICS = (
    ("silhouette", "silhouette", "higher is better, -1..1"),
    ("Davies-Bouldin", "davies_bouldin", "lower is better"),
    ("Calinski-Harabasz", "calinski_harabasz", "higher is better"),
    ("inertia", "inertia", "K-Means objective"),
    ("BIC", "bic", "mixtures; lower is better"),
)
"""The fit tab's diagnostics: label, field of the diagnostics (or of the result), how to read it."""


def num(value: Any) -> float:
    """A core value as a float, NaN when it is missing or not a number."""
    try:
        return float(value) if value is not None else math.nan
    except (TypeError, ValueError):
        return math.nan


def opt(value: Any) -> float | None:
    number_ = num(value)
    return None if math.isnan(number_) else number_


def diag_short(diagnostics: Any) -> str:
    """The status line's 'sil 0.31 DB 1.2 CH 345'."""
    if diagnostics is None:
        return ""
    sil = num(getattr(diagnostics, "silhouette", None))
    db = num(getattr(diagnostics, "davies_bouldin", None))
    ch = num(getattr(diagnostics, "calinski_harabasz", None))
    return f"sil {number(sil)} DB {number(db)} CH {number(ch)}"


def suggestion_text(result: SweepResult, after_reason: str = "") -> Text:
    """The sweep's suggested k and the reason (``after_reason`` ends it), with the key that
    takes it."""
    text = Text()
    if result.k_choice is not None:
        return choice_text(result.k_choice, after_reason)
    if result.suggested_k is None:
        text.append("No k suggested: ", style="bold")
        text.append(str(result.reason))
        return text
    text.append(f"Suggested k = {result.suggested_k}", style="bold")
    text.append(" (t takes it): ")
    text.append(str(result.reason), style="italic")
    text.append(after_reason)
    return text


def choice_text(choice: KChoice, after_reason: str = "") -> Text:
    """auto-k's pick, why (``after_reason`` ends it), and the near-ties a person might take
    instead."""
    text = Text()
    text.append(f"Suggested k = {choice.k}", style="bold")
    text.append(" (t takes it): ")
    text.append(str(choice.reason), style="italic")
    text.append(after_reason)
    if choice.near_ties:
        text.append(f"\nNear-ties: {', '.join(f'k={k}' for k in choice.near_ties)}")
    return text


def fit_text(outcome: FitOutcome, sweep: SweepResult | None = None) -> Text:
    """The fit tab: what was fitted how, the diagnostics and the fit's notes."""
    request, result = outcome.request, outcome.result
    text = Text()
    text.append("Fit\n", style="bold")
    params = ", ".join(
        f"{k}={number(v) if isinstance(v, float) else v}" for k, v in result.params.items()
    )
    text.append(f"  algorithm   {request.fit.algorithm} ({params})\n")
    text.append(f"  seed        {request.fit.seed}\n")
    fitted = result.sample_size if result.sampled else len(result.labels)
    sampled = " (a seeded sample)" if result.sampled else " (all)"
    text.append(f"  fitted on   {number(fitted)} users{sampled}\n")
    text.append(f"  features    {', '.join(outcome.prepared.features)}\n")
    if sweep is not None and sweep.algorithm == request.fit.algorithm:
        text.append("  k sweep     ")
        text.append_text(suggestion_text(sweep))
        text.append("\n")
    text.append("Diagnostics\n", style="bold")
    for label, name, better in DIAGNOSTICS:
        value = getattr(outcome.diagnostics, name, None)
        if value is None:
            value = getattr(result, name, None)
        if value is None:
            continue
        text.append(f"  {label:<18}{number(num(value)):>10}   ", style="bold")
        text.append(f"{better}\n", style="dim")
    if outcome.messages:
        text.append("Notes\n", style="bold")
        for message in outcome.messages:
            text.append(f"  {message}\n")
    return text


def traits(profile: SegmentProfile) -> list[str]:
    found = getattr(profile, "traits", None) or []
    return [str(getattr(t, "text", t)) for t in found]


def stability_cell(evidence: Evidence | None, segment_id: int, kind: str | None) -> str:
    """The table's stability: "…" while measured, "-" where it does not apply, "0.52!" flagged."""
    if evidence is None:
        return "…"
    report = evidence.stability
    value = None if report is None or kind not in (None, "cluster") else report.jaccard(segment_id)
    if value is None:
        return "-"
    return f"{value:.2f}" + ("!" if evidence.flags.get(segment_id) else "")


def evidence_lines(evidence: Evidence | None, segment_id: int, kind: str | None) -> list[str]:
    """Detail's stability paragraph: the value and its class, how measured, and any flags."""
    if evidence is None:
        return ["Stability: being measured…"]
    report = evidence.stability
    value = None if report is None or kind not in (None, "cluster") else report.jaccard(segment_id)
    out = []
    if value is not None and report is not None:
        item = report.segments[segment_id]
        out.append(
            f"Stability: {value:.2f} ({item.label}): mean Jaccard of its best match over "
            f"{item.fits} bootstrap refits on {report.users:,} users"
        )
    elif report is None:
        out.append("Stability: not measured")
    else:
        out.append("Stability: only measured for segments as clustered")
    if kind in (None, "cluster"):
        out += [f"Flag: {reason}" for reason in evidence.flags.get(segment_id, [])]
    return out


def segment_row(
    profile: SegmentProfile, kinds: dict[int, str], evidence: Evidence | None = None
) -> SegmentRow:
    """One profile as the segments table shows it (the first three traits)."""
    shown = traits(profile)
    sid = int(profile.segment_id)
    return SegmentRow(
        id=int(profile.segment_id),
        name=str(profile.name),
        size=int(profile.size),
        share=float(profile.share),
        traits="; ".join(shown[:3]),
        is_rule=kinds.get(int(profile.segment_id)) == "rule",
        is_noise=bool(getattr(profile, "is_noise", False)),
        stability=stability_cell(evidence, sid, kinds.get(sid)),
    )


def profile_for(view: SegmentsView | None, segment_id: int | None) -> SegmentProfile | None:
    if view is None or segment_id is None:
        return None
    return next((p for p in view.profiles if int(p.segment_id) == segment_id), None)


def feature_lines(profile: SegmentProfile, features: Sequence[str]) -> list[FeatureLine]:
    """Each feature's mean in the segment, everyone's mean and the lift between them."""
    means = getattr(profile, "mean", {}) or {}
    overall = getattr(profile, "overall_mean", {}) or {}
    lifts = getattr(profile, "lift", {}) or {}
    return [
        FeatureLine(name, opt(means.get(name)), opt(overall.get(name)), opt(lifts.get(name)))
        for name in features
    ]
