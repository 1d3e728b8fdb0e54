"""The README's screenshots, taken from the app itself so they never go stale.

    python scripts/screenshots.py            # every shot into docs/, from sample_data/events.csv
    python scripts/screenshots.py --only explore-80x24 --out /tmp/shots

Each shot runs the app headless at its size on the bundled sample, waits until the app has
nothing left to do (the fit, stability and the auto-k scan shown), presses the shot's keys, waits
again and saves the screen as SVG; with cairosvg installed the SVG becomes a PNG (the README
shows PNGs), else the SVG is kept.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Shot:
    """One picture: a name (the file's stem), the terminal size, and the keys pressed first."""

    name: str
    size: tuple[int, int]
    keys: tuple[str, ...] = ()


SHOTS = (
    Shot("explore-80x24", (80, 24)),
    Shot("explore-120x40", (120, 40)),
    Shot("detail-120x40", (120, 40), ("enter",)),
    Shot("scatter-80x24", (80, 24), ("2",)),
)


async def _settle(pilot, until=None, timeout: float = 300.0) -> None:
    """Wait until no worker runs (and ``until()`` holds): the app's state, never a sleep."""
    app = pilot.app
    started = time.monotonic()
    while True:
        await pilot.pause()
        busy = any(not worker.is_finished for worker in app.workers)
        if not busy and (until is None or until()):
            await pilot.pause()
            if not any(not worker.is_finished for worker in app.workers):
                return
        if time.monotonic() - started > timeout:
            raise TimeoutError("the app did not settle")
        await pilot.pause(0.05)


def _explore_ready(app) -> bool:
    from segtui.app.screens.explore import ExploreScreen

    screen = app.screen
    return isinstance(screen, ExploreScreen) and app.segview is not None


async def take(shot: Shot, data: Path, out: Path) -> Path:
    """Run the app at ``shot.size`` on ``data``, press the keys, save the screen; the file."""
    from segtui.app.app import SegtuiApp

    app = SegtuiApp([str(data)], watch_terminal=False, theme="dark")
    async with app.run_test(size=shot.size) as pilot:
        await _settle(pilot, until=lambda: _explore_ready(app))
        for key in shot.keys:
            await pilot.press(key)
            await _settle(pilot)
        await pilot.wait_for_scheduled_animations()
        svg = Path(app.save_screenshot(f"{shot.name}.svg", str(out)))
    return to_png(svg)


def to_png(svg: Path) -> Path:
    """The SVG as a PNG beside it (the SVG removed) when cairosvg is installed, else the SVG."""
    try:
        import cairosvg
    except ImportError:
        return svg
    png = svg.with_suffix(".png")
    # Textual names its web font first; without it fontconfig may pick a proportional font and
    # the columns drift, so the terminal's own choice, monospace, goes first.
    text = svg.read_text(encoding="utf-8").replace(
        "font-family: Fira Code, monospace;", "font-family: monospace;"
    )
    cairosvg.svg2png(bytestring=text.encode("utf-8"), write_to=str(png))
    svg.unlink()
    return png


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Take the README's screenshots from the app.")
    parser.add_argument("--out", type=Path, default=ROOT / "docs", help="folder for the images")
    parser.add_argument(
        "--data", type=Path, default=ROOT / "sample_data" / "events.csv", help="events to open"
    )
    parser.add_argument("--only", action="append", help="a shot's name (repeatable)")
    args = parser.parse_args(argv)
    shots = [shot for shot in SHOTS if not args.only or shot.name in args.only]
    unknown = set(args.only or ()) - {shot.name for shot in SHOTS}
    if unknown:
        parser.error(f"no such shot: {', '.join(sorted(unknown))}")
    args.out.mkdir(parents=True, exist_ok=True)
    for shot in shots:
        written = asyncio.run(take(shot, args.data, args.out))
        print(written.relative_to(ROOT) if written.is_relative_to(ROOT) else written)
    return 0


if __name__ == "__main__":
    sys.exit(main())
