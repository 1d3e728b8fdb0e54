"""``segtui explain MODEL FILES --user ID``: why a user is in their segment.

The files are read and featurised the way ``segtui assign`` reads them (the model's mapping,
declarations and preparation), the users labelled with the model, and the user's segment
compared with the next nearest one feature by feature (:mod:`segtui.segments.explain`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import numpy as np
import typer

from segtui.artifacts.assign import assign_users, model_users_with_messages
from segtui.artifacts.export_set import mixed_export
from segtui.artifacts.model import read_model
from segtui.cli.options import (
    AsOfOpt,
    DayFirstOpt,
    EventsOrUsersPathsArg,
    JsonOpt,
    LayoutOpt,
    MapOpt,
    MappingOpt,
    ModelSessionGapOpt,
    StrictOpt,
    model_load_options,
    parse_as_of,
)
from segtui.cli.output import echo_json, echo_lines
from segtui.clustering.prepare import transform_users
from segtui.errors import InputError
from segtui.segments.explain import TOP_FEATURES, explain_user


def explain(
    model: Annotated[
        Path, typer.Argument(help="A NAME.model.json, or a segments.parquet written by segment.")
    ],
    paths: EventsOrUsersPathsArg,
    user: Annotated[str, typer.Option("--user", help="The user_id to explain.")],
    top: Annotated[
        int, typer.Option("--top", help="How many features to name.", min=1)
    ] = TOP_FEATURES,
    as_of: AsOfOpt = None,
    map_: MapOpt = None,
    mapping: MappingOpt = None,
    strict: StrictOpt = False,
    session_gap: ModelSessionGapOpt = None,
    day_first: DayFirstOpt = None,
    layout: LayoutOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Say why a user is in their segment rather than the next nearest one."""
    m = read_model(model)
    options = model_load_options(
        m.session_gap_minutes, map_, mapping, strict, session_gap, day_first, layout
    )
    moment = parse_as_of(as_of) if as_of is not None else None
    users, messages = model_users_with_messages(m, paths, as_of=moment, load_options=options)
    mixed = mixed_export(model)
    if mixed:
        messages = [mixed, *messages]
    if users.height == 0:
        raise InputError("these files hold no users", file=paths[0])
    labels = assign_users(m, users)  # sorted by user_id, as users are
    X = transform_users(m.prepare, users)
    rules = {int(s["id"]): str(s["rule"]) for s in m.data["segments"] if s.get("rule") is not None}
    found = explain_user(
        users,
        labels.get_column("segment_id").to_numpy().astype(np.int64),
        X,
        m.features,
        user,
        names=m.segment_names,
        rules=rules,
        noise_id=m.segmentation.noise_id,
        top=top,
    )
    if json_:
        out = {"model": str(model), **found.to_dict(), "messages": messages}
        echo_json(out)
        return
    echo_lines([*(f"note: {m}" for m in messages), *found.lines()])
