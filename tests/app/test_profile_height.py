"""The profile's counted height is the height Rich renders it at, for every width."""

from __future__ import annotations

import pytest
from rich.console import Console

from segtui.app.widgets.bars import FeatureLine, profile_height, profile_renderable

LINES = [
    *(
        FeatureLine(f"a_feature_with_a_long_name_{i}", 1.5 * i, 2.0, 0.1 * (i + 1))
        for i in range(25)
    ),
    FeatureLine("x", None, None, None),
    FeatureLine("[bold]markup[/bold]", 0.0, 0.0, 0.0),
]


@pytest.mark.parametrize(
    ("title", "traits"),
    [
        ("Seg", ""),
        (
            "Winter shoppers (3) · 1,234 users · 12.3%",
            "high add_to_cart, low recency_days, many sessions, and a trait line long enough to "
            "wrap at most widths",
        ),
    ],
)
def test_the_counted_height_is_the_rendered_height(title: str, traits: str) -> None:
    console = Console(width=200)
    for width in range(8, 141):
        table = profile_renderable(title, traits, LINES, width, "red", "green")
        rendered = console.render_lines(table, console.options.update_width(width), pad=False)
        assert profile_height(title, traits, LINES, width, console) == len(rendered), width
