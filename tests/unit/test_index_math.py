"""Index formulas of docs/index.md on hand-checked windows, and the alert rules."""

from __future__ import annotations

from streams.config import IndexConfig
from streams.index import check_alerts, index_value, window_rows

CFG = IndexConfig(baselines={"tariffs": 0.25, "overall": 0.5}, top_k=2)


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


def test_alert_rules() -> None:
    row = {"category": "tariffs", "window_start": 0, "window_end": 1, "index": 250.0, "top_items": ["a"]}
    level = check_alerts(row, [150.0], CFG)
    assert [a["rule"] for a in level] == ["level"] and level[0]["items"] == ["a"]
    assert check_alerts(row, [210.0], CFG) == []  # already above: no new crossing
    jump = check_alerts(row, [210.0, 205.0, 215.0, 210.0, 200.0, 220.0], CFG)
    assert [a["rule"] for a in jump] == ["jump"]
