"""What readers ask of a state: its status, the moves log and the current labels.

Every function opens the state read-only (retrying while a batch is being written) and returns
plain data, so the CLI, the app and tests read the same answers.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl

from segtui.artifacts.export import segments_frame, write_labels
from segtui.artifacts.parquet_meta import METADATA_KEY
from segtui.clustering.prepare import transform_users
from segtui.clustering.projection import Projection, project_rows
from segtui.fileio import check_writable
from segtui.watch.current import latest_model
from segtui.watch.scoring import name_of
from segtui.watch.state import first_row, meta_value, read_frame, reading

MOVES_COLUMNS: tuple[str, ...] = (
    "user_id",
    "from_segment",
    "from_id",
    "to_segment",
    "to_id",
    "at",
    "batch",
    "reason",
    "logged_at",
)

_COLUMNS = ", ".join(f'"{c}"' for c in MOVES_COLUMNS)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def status(state: Path) -> dict[str, Any]:
    """``users``, ``segments`` (id, name, size, share), ``batches``, ``last_batch_at``,
    ``drift`` (``psi``, ``mean_distance``), ``last_refit``, ``model_version``, and more."""
    with reading(state) as con:
        model, version = latest_model(con)
        sizes = con.sql("SELECT segment_id, count(*) FROM labels GROUP BY 1 ORDER BY 1").fetchall()
        users = sum(int(n) for _, n in sizes)
        counted = {int(i): int(n) for i, n in sizes}
        names = model.segmentation.names
        segments = [
            {
                "id": sid,
                "name": name_of(names, sid),
                "size": counted.get(sid, 0),
                "share": counted.get(sid, 0) / users if users else 0.0,
            }
            for sid in sorted(set(names) | set(counted))
        ]
        last = first_row(
            con,
            "SELECT batch, source, finished_at, psi, mean_distance, reference_time "
            "FROM batches ORDER BY batch DESC LIMIT 1",
        )
        runs = first_row(con, "SELECT count(*) FROM batches WHERE batch > 0")[0]
        events = first_row(con, "SELECT count(*) FROM events")[0]
        moves = first_row(con, "SELECT count(*) FROM moves")[0]
        refit = first_row(con, "SELECT max(created_at) FROM models WHERE reason <> 'init'")[0]
        rejected = first_row(con, "SELECT count(*) FROM rejected")[0]
        created = meta_value(con, "created_at")
    return {
        "state": str(state),
        "users": users,
        "events": int(events),
        "segments": segments,
        "batches": int(runs),
        "last_batch": None if last is None else int(last[0]),
        "last_source": None if last is None else str(last[1]),
        "last_batch_at": _iso(last[2]) if last else None,
        "reference_time": _iso(last[5]) if last else None,
        "drift": {
            "psi": None if last is None else last[3],
            "mean_distance": None if last is None else last[4],
        },
        "moves": int(moves),
        "rejected": int(rejected),
        "last_refit": _iso(refit),
        "model_version": version,
        "created_at": created,
    }


def status_lines(info: dict[str, Any]) -> list[str]:
    """The status as lines for a terminal."""
    drift = info["drift"]
    distance = drift["mean_distance"]
    lines = [
        f"state: {info['state']} (model version {info['model_version']})",
        f"users: {info['users']:,}; events: {info['events']:,}; batches run: {info['batches']:,}; "
        f"moves logged: {info['moves']:,}",
        f"last batch: {info['last_source']} at {info['last_batch_at']} "
        f"(reference time {info['reference_time']})",
        f"drift: psi {drift['psi'] or 0:.3f}; mean distance "
        + ("-" if distance is None else f"{distance:.3f}"),
        f"last refit: {info['last_refit'] or 'never'}",
    ]
    if info["rejected"]:
        lines.append(
            f"rejected: {info['rejected']} (files moved to INBOX/.rejected/, stdin lines "
            "left out; the state's `rejected` table says why)"
        )
    width = max([len(s["name"]) for s in info["segments"]] + [4])
    lines += [
        f"  {s['id']:>3}  {s['name']:<{width}}  {s['size']:>10,}  {100 * s['share']:5.1f}%"
        for s in info["segments"]
    ]
    return lines


def moves(state: Path, since: datetime | None = None) -> pl.DataFrame:
    """The moves log (oldest first: by batch, user, when logged and the order written), those
    with ``at`` at or after ``since`` when given."""
    with reading(state) as con:
        where = "" if since is None else 'WHERE "at" >= ?'
        params = [] if since is None else [since]
        frame = read_frame(
            con,
            f"SELECT {_COLUMNS} FROM moves {where} ORDER BY batch, user_id, logged_at, rowid",
            params,
        )
    return frame


def current_labels(state: Path) -> tuple[pl.DataFrame, str]:
    """The current labels in ``segment``'s export schema (user_id, segment, segment_id, the
    model's clustering features, pc1, pc2 on the model's PCA axes), sorted by user_id, and the
    model JSON they come from."""
    with reading(state) as con:
        model, version = latest_model(con)
        text = first_row(con, "SELECT model_json FROM models WHERE version = ?", [version])[0]
        labels = read_frame(
            con,
            "SELECT l.segment_id, f.* FROM labels l JOIN features f USING (user_id) "
            "ORDER BY user_id",
        )
    users = labels.drop("segment_id")
    components, mean = Projection.params_from_dict(model.data["projection"])
    coords = project_rows(transform_users(model.prepare, users), components, mean)
    frame = segments_frame(
        users, labels["segment_id"].to_numpy(), model.segmentation.names, model.features, coords
    )
    return frame, text


def export_labels(state: Path, output: Path) -> int:
    """Write the current labels to ``output`` (.parquet with the model in its metadata, or
    .csv), as ``watch export`` and the app's ctrl+s do; the number of users written."""
    check_writable(output)
    frame, model_json = current_labels(state)
    write_labels(frame, output, {METADATA_KEY: model_json})
    return frame.height
