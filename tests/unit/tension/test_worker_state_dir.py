"""Each worker's table state lives in <data_dir>/<app_id>/port-<web_port>: app ids never share a folder."""

from __future__ import annotations

import re
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from tension.wiring import state_dir, stream_config
from tension.settings import Settings

ROOT = Path("/srv/state")
SAFE = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]*")
app_ids = st.one_of(st.text(min_size=1, max_size=40), st.from_regex(SAFE, fullmatch=True))
ports = st.integers(1, 65535)


@settings(max_examples=200)
@given(a=app_ids, b=app_ids, pa=ports, pb=ports)
def test_distinct_app_ids_or_ports_get_distinct_folders(a: str, b: str, pa: int, pb: int) -> None:
    da, db = state_dir(ROOT, a, pa), state_dir(ROOT, b, pb)
    for d in (da, db):
        assert d.parent.parent == ROOT, f"{d} escapes the data dir"
        assert d.parent.name not in ("", ".", "..")
    if pa != pb:
        assert da != db
    if a != b and SAFE.fullmatch(a) and SAFE.fullmatch(b):  # path-safe app ids are kept as they are
        assert da.parent != db.parent


def test_simple_app_ids_keep_their_name() -> None:
    assert state_dir(ROOT, "tension-stream", 6066) == ROOT / "tension-stream" / "port-6066"
    assert state_dir(ROOT, "../../etc", 1) == ROOT / "_.._etc" / "port-1"


def test_stream_config_puts_the_worker_below_its_app_id(tmp_path: Path) -> None:
    def cfg(app_id: str, port: int):  # type: ignore[no-untyped-def]
        s = Settings(_env_file=None, stream={"app_id": app_id, "data_dir": tmp_path, "web_port": port})  # type: ignore[call-arg]
        return stream_config(s)

    one, two, one_b = cfg("app-one", 7001), cfg("app-two", 7001), cfg("app-one", 7002)
    assert one.data_dir == tmp_path / "app-one" / "port-7001"
    assert len({one.data_dir, two.data_dir, one_b.data_dir}) == 3
    assert stream_config(Settings(_env_file=None, stream={"data_dir": tmp_path}),  # type: ignore[call-arg]
                         web_port=7100).data_dir == tmp_path / "tension-stream" / "port-7100"
