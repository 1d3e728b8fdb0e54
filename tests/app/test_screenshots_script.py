"""scripts/screenshots.py (the README's pictures) runs: one shot, on the small test log, into a
temporary folder; and the README shows every shot the script takes, from docs/."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _script():
    spec = importlib.util.spec_from_file_location(
        "screenshots", ROOT / "scripts" / "screenshots.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("screenshots", module)  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


async def test_the_script_takes_a_shot_of_the_app(events_csv: Path, tmp_path: Path) -> None:
    script = _script()
    shot = script.Shot("explore-80x24", (80, 24))
    written = await script.take(shot, events_csv, tmp_path)
    assert written.parent == tmp_path and written.stem == "explore-80x24"
    assert written.suffix in (".png", ".svg")
    data = written.read_bytes()
    if written.suffix == ".png":
        assert data.startswith(b"\x89PNG")
    else:
        assert b"Explore" in data


def test_the_readme_shows_every_shot_and_each_is_committed() -> None:
    script = _script()
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    shown = set(re.findall(r"\]\((docs/[^)]+)\)", readme))
    for shot in script.SHOTS:
        image = next((p for p in shown if Path(p).stem == shot.name), None)
        assert image is not None, f"README does not show {shot.name}"
        assert (ROOT / image).is_file(), image
