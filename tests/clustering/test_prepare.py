"""prepare/transform_users: transforms, scaling, imputation and dropping, with exact numbers."""

from __future__ import annotations

import json
import math

import numpy as np
import polars as pl
import pytest

from segtui.clustering.prepare import (
    RANK_REFERENCE_MAX,
    PrepareParams,
    percentile_rank,
    prepare,
    signed_log1p,
    transform_users,
)
from segtui.clustering.specs import PrepSpec
from segtui.errors import InputError

S = math.sqrt(1.5)


def test_log1p_then_standard_scaling_exact() -> None:
    users = pl.DataFrame({"user_id": ["a", "b", "c"], "x": [0.0, 1.0, 3.0], "y": [1.0, 2.0, 3.0]})
    pm = prepare(users, PrepSpec(("x", "y"), transforms={"x": "log1p"}))
    # log1p -> [0, ln2, 2 ln2]: mean ln2, std ln2*sqrt(2/3) -> [-sqrt(3/2), 0, sqrt(3/2)]
    np.testing.assert_allclose(pm.X[:, 0], [-S, 0.0, S], rtol=0, atol=1e-12)
    np.testing.assert_allclose(pm.X[:, 1], [-S, 0.0, S], rtol=0, atol=1e-12)
    fp = pm.params.features[0]
    assert fp.transform == "log1p"
    assert fp.center == pytest.approx(math.log(2))
    assert fp.scale == pytest.approx(math.log(2) * math.sqrt(2 / 3))
    assert pm.X.dtype == np.float64 and pm.X.flags.c_contiguous
    assert pm.features == ["x", "y"]
    assert pm.messages == []


def test_signed_log1p_keeps_refunds_negative() -> None:
    np.testing.assert_allclose(
        signed_log1p(np.array([-3.0, 0.0, 3.0])), [-math.log(4), 0.0, math.log(4)]
    )


def test_default_transform_comes_from_catalog_and_can_be_overridden() -> None:
    users = pl.DataFrame({"user_id": ["a", "b", "c"], "x": [0.0, 1.0, 3.0], "y": [0.0, 1.0, 3.0]})
    pm = prepare(
        users,
        PrepSpec(
            ("x", "y"), transforms={"y": "none"}, default_transforms={"x": "log1p", "y": "log1p"}
        ),
    )
    assert [f.transform for f in pm.params.features] == ["log1p", "none"]
    # no default known -> none
    assert prepare(users, PrepSpec(("x", "y"))).params.features[0].transform == "none"


def test_rank_uses_mid_rank_percentiles_and_ranks_new_users_against_reference() -> None:
    users = pl.DataFrame(
        {"user_id": ["a", "b", "c", "d"], "x": [10.0, 20.0, 20.0, 40.0], "y": [1.0, 2, 3, 4]}
    )
    pm = prepare(users, PrepSpec(("x", "y"), transforms={"x": "rank"}))
    fp = pm.params.features[0]
    assert fp.rank_reference == (10.0, 20.0, 20.0, 40.0)
    ranks = np.array([0.125, 0.5, 0.5, 0.875])
    assert fp.center == pytest.approx(0.5)
    np.testing.assert_allclose(pm.X[:, 0], (ranks - 0.5) / ranks.std(), atol=1e-12)
    new = pl.DataFrame({"user_id": ["z", "y"], "x": [30.0, 5.0], "y": [1.0, 1.0]})
    got = transform_users(pm.params, new)
    np.testing.assert_allclose(got[:, 0], (np.array([0.75, 0.0]) - 0.5) / ranks.std(), atol=1e-12)


def test_rank_reference_is_quantiles_for_many_users() -> None:
    n = 5000
    users = pl.DataFrame(
        {"user_id": [f"u{i:05d}" for i in range(n)], "x": np.arange(n, dtype=float), "y": 1.0}
    ).with_columns(pl.col("y") * pl.int_range(n))
    pm = prepare(users, PrepSpec(("x", "y"), transforms={"x": "rank"}))
    ref = pm.params.features[0].rank_reference
    assert ref is not None and len(ref) == RANK_REFERENCE_MAX
    assert ref[0] == 0.0 and ref[-1] == n - 1
    np.testing.assert_allclose(percentile_rank(np.array([2499.5]), np.asarray(ref)), [0.5])


def test_robust_scaling_median_iqr_exact() -> None:
    users = pl.DataFrame(
        {"user_id": list("abcde"), "x": [1.0, 2, 3, 4, 100], "y": [5.0, 1, 2, 3, 4]}
    )
    pm = prepare(users, PrepSpec(("x", "y"), scaling="robust"))
    np.testing.assert_allclose(pm.X[:, 0], [-1.0, -0.5, 0.0, 0.5, 48.5])
    np.testing.assert_allclose(pm.X[:, 1], [1.0, -1.0, -0.5, 0.0, 0.5])
    fp = pm.params.features[0]
    assert (fp.center, fp.scale) == (3.0, 2.0)


def test_robust_scaling_falls_back_to_std_when_iqr_is_zero() -> None:
    users = pl.DataFrame({"user_id": list("abcde"), "x": [0.0, 0, 0, 0, 5], "y": [1.0, 2, 3, 4, 5]})
    pm = prepare(users, PrepSpec(("x", "y"), scaling="robust"))
    assert pm.params.features[0].scale == pytest.approx(2.0)  # std of [0,0,0,0,5]
    assert pm.params.features[0].center == 0.0
    assert any("interquartile range is 0" in m and "'x'" in m for m in pm.messages)


def test_missing_values_filled_with_median_and_said() -> None:
    users = pl.DataFrame(
        {
            "user_id": list("abcde"),
            "x": [1.0, None, 3.0, float("nan"), 5.0],
            "y": [1.0, 2, 3, 4, float("inf")],
        }
    )
    pm = prepare(users, PrepSpec(("x", "y")))
    filled = np.array([1.0, 3, 3, 3, 5])
    np.testing.assert_allclose(pm.X[:, 0], (filled - 3.0) / math.sqrt(1.6))
    assert pm.params.features[0].impute == 3.0
    assert pm.params.features[0].n_missing == 2
    assert pm.params.features[0].fill == "median"
    # +inf counts as missing: median of [1,2,3,4] = 2.5
    assert pm.params.features[1].impute == 2.5
    assert pm.messages == [
        "'x': 2 users with a missing value (40.0%) set to the median, 3",
        "'y': 1 user with a missing value (20.0%) set to the median, 2.5",
    ]


def test_imputation_after_log1p_is_said() -> None:
    users = pl.DataFrame({"user_id": list("abc"), "x": [0.0, None, 3.0], "y": [1.0, 2, 3]})
    pm = prepare(users, PrepSpec(("x", "y"), transforms={"x": "log1p"}))
    # median of [log1p 0, log1p 3] = ln 4 / 2 = ln 2, which stands for a raw value of 1
    assert pm.params.features[0].impute == pytest.approx(math.log(4) / 2)
    assert pm.messages == [
        "'x': 1 user with a missing value (33.3%) set to the median after log1p, 0.69 (= 1)"
    ]


# x has 2 of 5 values missing; y is a plain second feature.
FILL_USERS = pl.DataFrame(
    {"user_id": list("abcde"), "x": [1.0, None, 3.0, None, 7.0], "y": [1.0, 2, 3, 4, 5]}
)


@pytest.mark.parametrize(
    ("fill", "impute"), [("median", 3.0), ("zero", 0.0), ("max", 7.0), ("min", 1.0)]
)
def test_each_fill_kind_exact_without_transform(fill: str, impute: float) -> None:
    pm = prepare(FILL_USERS, PrepSpec(("x", "y"), fills={"x": fill}))
    fp = pm.params.features[0]
    assert (fp.fill, fp.impute, fp.n_missing) == (fill, impute, 2)
    values = np.array([1.0, impute, 3.0, impute, 7.0])
    assert fp.center == pytest.approx(values.mean())
    np.testing.assert_allclose(pm.X[:, 0], (values - values.mean()) / values.std())


@pytest.mark.parametrize(
    ("fill", "impute"),
    # log1p of the present [0, 3, 7] = [0, ln 4, ln 8]; zero is log1p(0) = 0
    [("median", math.log(4)), ("zero", 0.0), ("max", math.log(8)), ("min", 0.0)],
)
def test_each_fill_kind_is_taken_after_log1p(fill: str, impute: float) -> None:
    users = FILL_USERS.with_columns(pl.Series("x", [0.0, None, 3.0, None, 7.0]))
    pm = prepare(users, PrepSpec(("x", "y"), default_transforms={"x": "log1p"}, fills={"x": fill}))
    fp = pm.params.features[0]
    assert fp.transform == "log1p" and fp.fill == fill
    assert fp.impute == pytest.approx(impute, abs=1e-15)
    values = np.array([0.0, impute, math.log(4), impute, math.log(8)])
    np.testing.assert_allclose(pm.X[:, 0], (values - values.mean()) / values.std(), atol=1e-12)
    # new users with a missing value land exactly where the training ones did
    again = transform_users(pm.params, users)
    np.testing.assert_array_equal(again, pm.X)


def test_zero_fill_is_the_transform_of_zero_for_a_rank() -> None:
    users = FILL_USERS.with_columns(pl.Series("x", [0.0, None, 2.0, None, 4.0]))
    pm = prepare(users, PrepSpec(("x", "y"), transforms={"x": "rank"}, fills={"x": "zero"}))
    # 0 in the reference [0, 2, 4]: (0 below + 1 at-or-below) / (2 * 3) = 1/6, not 0
    assert pm.params.features[0].impute == pytest.approx(1 / 6)
    assert pm.messages == [
        "'x': 2 users with a missing value (40.0%) set to 0 (percentile rank 0.17): "
        "nothing it measures happened"
    ]


def test_fill_messages_say_what_and_why() -> None:
    users = pl.DataFrame(
        {
            "user_id": list("abcde"),
            "recency_days": [10.0, None, 364.4, 30.0, None],
            "cart_abandonment": [0.5, 1.0, None, 0.25, 1.0],
            "avg_order_value": [None, 9.0, 99.0, 0.0, None],
            "spend": [1.0, None, 7.0, 3.0, 5.0],
            "trend": [0.25, 0.5, None, 1.0, 0.75],
        }
    )
    pm = prepare(
        users,
        PrepSpec(
            tuple(users.columns[1:]),
            default_transforms={"avg_order_value": "log1p", "spend": "log1p"},
            default_fills={
                "recency_days": "max",
                "cart_abandonment": "zero",
                "avg_order_value": "median",
                "spend": "min",
            },
            missing_reasons={
                "recency_days": "no purchases",
                "cart_abandonment": "no add to cart",
                "avg_order_value": "no orders",
                "trend": "all events at one instant",
            },
        ),
    )
    assert pm.messages == [
        "'recency_days': 2 users with no purchases (40.0%) set to the longest recency seen, "
        "364 days",
        "'cart_abandonment': 1 user with no add to cart (20.0%) set to 0: "
        "nothing it measures happened",
        "'avg_order_value': 2 users with no orders (40.0%) set to the median after log1p, "
        "2.3 (= 9): unknown, so a typical value",
        "'spend': 1 user with a missing value (20.0%) set to the smallest value seen, "
        "1 (0.69 after log1p)",
        "'trend': 1 user with no value (all events at one instant) (20.0%) set to the median, "
        "0.62: unknown, so a typical value",
    ]
    assert [f.fill for f in pm.params.features] == ["max", "zero", "median", "min", "median"]
    assert pm.params.features[0].impute == 364.4


def test_a_person_s_fill_overrides_the_declared_one() -> None:
    pm = prepare(FILL_USERS, PrepSpec(("x", "y"), fills={"x": "min"}, default_fills={"x": "max"}))
    assert (pm.params.features[0].fill, pm.params.features[0].impute) == ("min", 1.0)
    pm = prepare(FILL_USERS, PrepSpec(("x", "y"), default_fills={"x": "max"}))
    assert (pm.params.features[0].fill, pm.params.features[0].impute) == ("max", 7.0)


def test_zero_fill_can_keep_a_feature_a_median_would_make_constant() -> None:
    users = FILL_USERS.with_columns(pl.Series("x", [0.5, None, 0.5, None, 0.5]))
    # "had the event" (0.5) vs "never" (0) is information; the median erases it
    pm = prepare(users, PrepSpec(("x", "y"), fills={"x": "zero"}))
    assert pm.features == ["x", "y"]
    # [0.5, 0, 0.5, 0, 0.5]: mean 0.3, std sqrt(0.06)
    np.testing.assert_allclose(pm.X[:, 0], np.array([2.0, -3, 2, -3, 2]) / math.sqrt(6))
    with pytest.raises(InputError, match="fewer than two usable features") as info:
        prepare(users, PrepSpec(("x", "y")))
    assert info.value.details == ["'x' dropped: constant"]


def test_bad_fills_are_input_errors() -> None:
    with pytest.raises(InputError, match="unknown fill 'maxx'") as info:
        prepare(FILL_USERS, PrepSpec(("x", "y"), fills={"x": "maxx"}))
    assert info.value.column == "x"
    with pytest.raises(InputError, match="users table does not have") as info:
        prepare(FILL_USERS, PrepSpec(("x", "y"), fills={"xx": "zero"}))
    assert info.value.hint == "Did you mean 'x'?"
    # a fill for a column that is not clustered this time is no error
    users = FILL_USERS.with_columns(z=pl.col("y") ** 2)
    assert prepare(users, PrepSpec(("y", "z"), fills={"x": "max"})).features == ["y", "z"]
    with pytest.raises(InputError, match="unknown default fill 'mean'"):
        prepare(FILL_USERS, PrepSpec(("x", "y"), default_fills={"x": "mean"}))


def test_fill_round_trips_and_old_params_mean_median() -> None:
    pm = prepare(FILL_USERS, PrepSpec(("x", "y"), fills={"x": "zero"}))
    data = json.loads(json.dumps(pm.params.to_dict()))
    assert data["features"][0]["fill"] == "zero"
    assert PrepareParams.from_dict(data) == pm.params
    for feature in data["features"]:
        del feature["fill"]  # written before fills existed
    old = PrepareParams.from_dict(data)
    assert [f.fill for f in old.features] == ["median", "median"]
    assert old.features[0].impute == 0.0  # the value written is still the value applied
    data["features"][0]["fill"] = "average"
    with pytest.raises(InputError, match="unknown fill 'average'"):
        PrepareParams.from_dict(data)


def test_constant_and_all_null_features_dropped_with_messages() -> None:
    users = pl.DataFrame(
        {
            "user_id": list("abc"),
            "x": [1.0, 2, 3],
            "const": [7, 7, 7],
            "empty": [None, None, None],
            "y": [3.0, 1, 2],
        },
        schema_overrides={"empty": pl.Float64},
    )
    pm = prepare(users, PrepSpec(("x", "const", "empty", "y")))
    assert pm.features == ["x", "y"]
    assert pm.X.shape == (3, 2)
    assert pm.dropped == {"const": "constant", "empty": "all missing"}
    assert "dropped 'const': it has the same value (7) for every user" in pm.messages
    assert "dropped 'empty': every value is missing" in pm.messages


def test_fewer_than_two_usable_features_is_input_error() -> None:
    users = pl.DataFrame({"user_id": list("abc"), "x": [1.0, 2, 3], "const": [1, 1, 1]})
    with pytest.raises(InputError, match="fewer than two usable features") as err:
        prepare(users, PrepSpec(("x", "const")))
    assert "'const' dropped: constant" in str(err.value)


def test_unsorted_users_are_sorted_and_said() -> None:
    users = pl.DataFrame({"user_id": ["c", "a", "b"], "x": [3.0, 1, 2], "y": [30.0, 10, 20]})
    pm = prepare(users, PrepSpec(("x", "y")))
    assert pm.user_ids.to_list() == ["a", "b", "c"]
    np.testing.assert_allclose(pm.X[:, 0], [-S, 0.0, S], atol=1e-12)
    assert pm.messages[0].startswith("users were not sorted by user_id")


def test_bad_inputs_are_input_errors() -> None:
    users = pl.DataFrame({"user_id": ["a", "b"], "purchases": [1.0, 2], "name": ["x", "y"]})
    with pytest.raises(InputError, match="no such feature") as err:
        prepare(users, PrepSpec(("purchase", "name")))
    assert err.value.hint == "Did you mean 'purchases'?"
    with pytest.raises(InputError, match="not numeric"):
        prepare(users, PrepSpec(("purchases", "name")))
    with pytest.raises(InputError, match="unknown transform"):
        prepare(users, PrepSpec(("purchases",), transforms={"purchases": "sqrt"}))
    with pytest.raises(InputError, match="unknown scaling"):
        prepare(users, PrepSpec(("purchases",), scaling="minmax"))
    dup = pl.DataFrame({"user_id": ["a", "a"], "x": [1.0, 2], "y": [1.0, 3]})
    with pytest.raises(InputError, match="not unique"):
        prepare(dup, PrepSpec(("x", "y")))
    with pytest.raises(InputError, match="no 'user_id'"):
        prepare(pl.DataFrame({"x": [1.0]}), PrepSpec(("x",)))


def test_params_round_trip_json_and_transform_users_reproduces_x() -> None:
    rng = np.random.default_rng(3)
    n = 200
    x = rng.exponential(10, n)
    x[::7] = np.nan
    users = pl.DataFrame(
        {
            "user_id": [f"u{i:03d}" for i in range(n)],
            "spend": rng.normal(0, 50, n),
            "visits": x,
            "score": rng.integers(0, 5, n).astype(float),
            "flag": rng.integers(0, 2, n).astype(bool),
        }
    )
    pm = prepare(
        users,
        PrepSpec(
            ("spend", "visits", "score", "flag"),
            transforms={"spend": "log1p", "score": "rank"},
            default_transforms={"visits": "log1p"},
            scaling="robust",
        ),
    )
    text = json.dumps(pm.params.to_dict())
    params = PrepareParams.from_dict(json.loads(text))
    assert params == pm.params
    np.testing.assert_array_equal(transform_users(params, users), pm.X)


def test_transform_users_names_missing_columns_and_rejects_bad_params() -> None:
    users = pl.DataFrame({"user_id": list("abc"), "x": [1.0, 2, 3], "y": [3.0, 1, 2]})
    pm = prepare(users, PrepSpec(("x", "y")))
    with pytest.raises(InputError, match="lacks feature the model needs: y"):
        transform_users(pm.params, users.drop("y"))
    with pytest.raises(InputError, match="not valid"):
        PrepareParams.from_dict({"scaling": "standard", "features": [{"name": "x"}]})
    with pytest.raises(InputError, match="unknown scaling"):
        PrepareParams.from_dict({"scaling": "zscore", "features": []})
