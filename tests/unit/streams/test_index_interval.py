"""The index's uncertainty (docs/index.md, "Uncertainty"): Wilson intervals, the sparse mark, alerts on the bound."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import binomtest

from schemas.models import TensionIndexUpdate
from streams.config import IndexConfig
from streams.index import alerts_for, new_alerting, wilson, window_rows

HOUR = 3_600_000
DAY = 24 * HOUR
# tariffs at a baseline of 0.1: a share of 0.3 is an index of 300, over the level of 200;
# alert_min_items = 1, so only the interval can keep a thin window quiet
CFG = IndexConfig(baselines={"tariffs": 0.1, "overall": 0.2}, alert_min_items=1, min_evidence=10)


def window(k: int, n: int, cfg: IndexConfig = CFG, start: int = 0) -> dict[str, dict]:
    """A final 24 h window of n items, the first k of them escalating tariffs items, the rest neutral tariffs."""
    items = [(f"i{j}", [start + j, ["tariffs"], 0.5 if j < k else 0.0, "escalation" if j < k else "neutral", ""])
             for j in range(n)]
    rows = window_rows(items, cfg, kind="hopping", size_ms=DAY, start=start, final=True)
    return {r["category"]: r for r in rows}


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 5000).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))),
       st.sampled_from([0.8, 0.9, 0.95, 0.99]))
def test_wilson_matches_scipy_and_contains_the_share(kn: tuple[int, int], level: float) -> None:
    k, n = kn
    low, high = wilson(k, n, level)  # type: ignore[misc]
    ref = binomtest(k, n).proportion_ci(confidence_level=level, method="wilson")
    assert low == pytest.approx(ref.low, abs=1e-12) and high == pytest.approx(ref.high, abs=1e-12)
    assert 0.0 <= low <= k / n <= high <= 1.0
    assert (low == 0.0) == (k == 0) and (high == 1.0) == (k == n)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 50), st.integers(1, 50), st.integers(2, 20))
def test_more_evidence_at_the_same_share_narrows_the_interval(k: int, extra: int, m: int) -> None:
    n = k + extra
    small, large = wilson(k, n, 0.95), wilson(m * k, m * n, 0.95)
    assert small is not None and large is not None
    assert large[1] - large[0] < small[1] - small[0]
    assert wilson(k, n, 0.99)[1] - wilson(k, n, 0.99)[0] > small[1] - small[0]  # type: ignore[index]


def test_no_items_no_interval() -> None:
    assert wilson(0, 0, 0.95) is None
    row = window(0, 0)["tariffs"]
    assert (row["share_low"], row["share_high"], row["index_low"], row["index_high"]) == (None,) * 4
    assert row["interval_level"] is None and row["evidence"] == 0 and row["sparse"] is True


@pytest.mark.parametrize("k,n", [(1, 2), (2, 4), (3, 6)])  # half the window escalating: a point of 500
def test_a_thin_window_gets_a_wide_interval_and_no_alert(k: int, n: int) -> None:
    row = window(k, n)["tariffs"]
    assert row["index"] >= CFG.alert_level  # the point alone would alert: 1 of 2 reads as 500
    assert row["share_high"] - row["share_low"] > 0.5 and row["sparse"] is True and row["evidence"] == n
    assert row["index_low"] < CFG.alert_level < row["index_high"]
    assert alerts_for(row, new_alerting(), CFG, DAY) == []


@pytest.mark.parametrize("k,n", [(60, 200), (90, 300), (300, 1000)])
def test_a_dense_window_gets_a_narrow_interval_and_alerts_on_its_lower_bound(k: int, n: int) -> None:
    row = window(k, n)["tariffs"]
    assert row["share"] == pytest.approx(0.3) and row["sparse"] is False and row["evidence"] == n
    assert row["share_high"] - row["share_low"] < 0.13
    assert row["share_low"] < row["share"] < row["share_high"]
    assert row["index_low"] == pytest.approx(100 * row["share_low"] / 0.1)
    assert row["index_high"] == pytest.approx(100 * row["share_high"] / 0.1)
    alerts = alerts_for(row, new_alerting(), CFG, DAY)
    assert [a["rule"] for a in alerts] == ["level"]
    assert alerts[0]["value"] == row["index_low"] and alerts[0]["threshold"] == CFG.alert_level
    assert "interval" in alerts[0]["message"] and f"n={n}" in alerts[0]["message"]


@pytest.mark.parametrize("evidence,sparse", [(9, True), (10, False), (11, False)])
def test_sparse_mark_follows_min_evidence(evidence: int, sparse: bool) -> None:
    assert all(r["sparse"] is sparse for r in window(1, evidence).values())


def test_level_crossing_is_judged_on_the_bound_of_the_previous_row_too() -> None:
    """A dense window whose bound is above the level after a thin one whose *point* was above it: a crossing."""
    mem = new_alerting()
    thin = window(1, 2)["tariffs"]
    assert alerts_for(thin, mem, CFG, DAY) == []
    dense = window(60, 200, start=DAY)["tariffs"]
    assert [a["rule"] for a in alerts_for(dense, mem, CFG, DAY)] == ["level"]
    old = {"trail": {}, "last": {"tariffs": 500.0}, "alerted": {}}  # a memory from before intervals
    assert [a["rule"] for a in alerts_for(window(60, 200, start=DAY)["tariffs"], old, CFG, DAY)] == ["level"]
    assert "last" not in old and old["last_low"]["tariffs"] == dense["index_low"]


@pytest.mark.parametrize("k,n", [(0, 0), (1, 2), (60, 200)])
def test_rows_fit_the_v2_contract(k: int, n: int) -> None:
    for row in window(k, n).values():
        model = TensionIndexUpdate(**row)
        assert {f: getattr(model, f) for f in ("share_low", "index_high", "evidence", "sparse")} == \
            {f: row[f] for f in ("share_low", "index_high", "evidence", "sparse")}


@pytest.mark.parametrize("batch", [1000, 37, 1])
def test_the_fold_raises_the_same_interval_alerts_for_any_batching(batch: int) -> None:
    """Through index_batch (the live agent's function): a thin day alerts never, a dense day once, any batching."""
    from streams.offline import reference
    from streams.windows import Fact

    day0 = 20_000 * DAY  # epoch-aligned
    thin = [Fact(f"t{j}", day0 + 3 * HOUR + j, ["tariffs"], 0.5, "escalation" if j == 0 else "neutral")
            for j in range(2)]
    dense = [Fact(f"d{j}", day0 + 2 * DAY + 3 * HOUR + j * 1000, ["tariffs"], 0.5,
                  "escalation" if j < 60 else "neutral") for j in range(200)]
    flush = [Fact("flush", day0 + 5 * DAY, [], 0.0, "neutral")]  # moves the watermark past both days
    out = reference(thin + dense + flush, CFG, batch=batch)
    tariffs = [a for a in out.alerts if a["category"] == "tariffs"]
    assert [a["rule"] for a in tariffs] == ["level"]
    assert tariffs[0]["window_end"] == day0 + 2 * DAY + 4 * HOUR  # the first window holding the dense hour
    finals = {(r["window_start"], r["category"]): r for r in out.finals if r["window_kind"] == "hopping"}
    thin_row = finals[(day0, "tariffs")]
    assert thin_row["index"] >= CFG.alert_level > thin_row["index_low"] and thin_row["sparse"]
    reference_alerts = reference(thin + dense + flush, CFG).alerts
    assert out.alerts == reference_alerts
