"""Index formulas of docs/index.md on hand-checked windows, and the alert rules."""

from __future__ import annotations

from streams.config import IndexConfig
from streams.index import alerts_for, check_alerts, index_value, new_alerting, window_rows

CFG = IndexConfig(baselines={"tariffs": 0.25, "overall": 0.5}, top_k=2)
HOUR = 3_600_000
DAY = 24 * HOUR


def rows(items: list) -> dict[str, dict]:
    return {r["category"]: r for r in window_rows(items, CFG, kind="hopping", size_ms=86_400_000, start=0, final=True)}


def test_counts_share_index_mean_balance() -> None:
    r = rows([
        ("a", [1, ["tariffs"], 0.8, "escalation", ""]),
        ("b", [2, ["tariffs", "visas"], -0.4, "deescalation", ""]),
        ("c", [3, ["tariffs"], 0.6, "escalation", ""]),
        ("d", [4, [], 0.0, "neutral", ""]),
    ])
    t = r["tariffs"]
    assert (t["n_total"], t["n_category"], t["n_escalating"], t["n_deescalating"]) == (4, 3, 2, 1)
    assert t["share"] == 0.5 and t["index"] == 200.0  # 100 * 0.5 / 0.25
    assert abs(t["signed_mean"] - (0.8 - 0.4 + 0.6) / 3) < 1e-12
    assert abs(t["balance"] - 1 / 3) < 1e-12
    assert t["top_items"] == ["a", "c"]  # escalating first, by |tension|
    o = r["overall"]
    assert (o["n_category"], o["n_escalating"], o["share"], o["index"]) == (3, 2, 0.5, 100.0)
    v = r["visas"]
    assert v["share"] == 0.0 and v["index"] is None  # no baseline configured: null, not 0
    assert r["trade_talks"]["signed_mean"] is None and r["trade_talks"]["balance"] is None


def test_nulls_without_data() -> None:
    assert index_value(None, 0.3) is None and index_value(0.1, 0.0) is None
    r = rows([])
    assert all(x["share"] is None and x["index"] is None for x in r.values())


def point(index: float | None, **kw: object) -> dict:
    """A final row whose interval is the point itself: these tests are about the rules' logic."""
    return {"category": "tariffs", "window_start": 0, "window_end": 1, "index": index, "index_low": index,
            "index_high": index, "interval_level": 0.95, "evidence": 100, "top_items": ["a"], "n_category": 3,
            **kw}


def test_alert_rules() -> None:
    row = point(250.0)
    level = check_alerts(row, [], 150.0, CFG)
    assert [a["rule"] for a in level] == ["level"] and level[0]["items"] == ["a"]
    assert check_alerts(row, [], 210.0, CFG) == []  # already above: no new crossing
    jump = check_alerts(row, [210.0, 205.0, 215.0, 210.0, 200.0, 220.0, 210.0], 210.0, CFG)
    assert [a["rule"] for a in jump] == ["jump"]
    assert check_alerts(point(150.0), [210.0, 205.0, 215.0, 210.0, 200.0, 220.0, 210.0], 210.0,
                        CFG) == []  # a drop is not a tension alert
    assert check_alerts(row, [210.0] * 6, 210.0, CFG) == []  # too little history (alert_min_trailing 7)


def test_too_few_category_items_never_alert() -> None:
    sparse = point(760.0, n_category=CFG.alert_min_items - 1)  # one escalating item in a near-empty window
    assert check_alerts(sparse, [0.0] * 10 + [5.0], None, CFG) == []
    assert check_alerts({**sparse, "n_category": CFG.alert_min_items}, [], None, CFG) != []


def hourly(values: list[tuple[float, int]], cfg: IndexConfig = CFG) -> list[dict]:
    """Feed final hourly 24 h rows (index, n_category) through alerts_for; every alert raised."""
    mem, out = new_alerting(), []
    for h, (value, n) in enumerate(values):
        start = h * HOUR
        row = point(value, window_start=start, window_end=start + DAY, top_items=[], n_category=n)
        out.extend(alerts_for(row, mem, cfg, DAY))
    return out


def test_a_sustained_rise_raises_one_alert_per_cooldown() -> None:
    # 20 quiet days, then three days flickering around the level (hourly windows)
    flicker = [(190.0 + 20 * (h % 2), 5) for h in range(72)]
    alerts = hourly([(100.0 + h % 3, 5) for h in range(20 * 24)] + flicker)
    levels = [a for a in alerts if a["rule"] == "level"]
    assert len(levels) == 3  # one per 24 h cool-down, not one per crossing (36)
    no_cooldown = hourly([(100.0 + h % 3, 5) for h in range(20 * 24)] + flicker,
                         IndexConfig(baselines=CFG.baselines, alert_cooldown_hours=0))
    assert len([a for a in no_cooldown if a["rule"] == "level"]) == 36


def test_jump_history_is_non_overlapping_windows_before_this_one() -> None:
    # history = one window a day, each ending before the current window starts (no shared items)
    ramp = [(100.0 + h * 0.5, 5) for h in range(20 * 24)]
    assert [a for a in hourly(ramp) if a["rule"] == "jump"] == []
    spike = [(100.0 + (h // 24) % 3, 5) for h in range(10 * 24)] + [(180.0, 5)]
    jumps = [a for a in hourly(spike) if a["rule"] == "jump"]
    assert len(jumps) == 1 and jumps[0]["threshold"] < 180.0
    mem = new_alerting()
    for h in range(3 * 24):
        alerts_for(point(1.0, category="visas", window_start=h * HOUR, window_end=h * HOUR + DAY, top_items=[],
                         n_category=0), mem, CFG, DAY)
    assert [s for s, _ in mem["trail"]["visas"]] == [0, DAY, 2 * DAY]  # one per day, aligned
