"""`tension worker`: run the Faust topology (classification and index tables)."""

from __future__ import annotations

import typer

from streams.config import StreamConfig, TopicConfig
from tension.settings import Settings, load_settings

app = typer.Typer()


def stream_config(s: Settings, **overrides: object) -> StreamConfig:
    """Settings → the plain config the topology takes."""
    t = s.topics
    st = s.stream
    values = dict(
        bootstrap=s.bootstrap, app_id=st.app_id,
        topics=TopicConfig(raw=t.raw, classified=t.classified, index=t.index, alerts=t.alerts,
                           deadletter=t.deadletter, partitions=s.kafka.partitions,
                           replication=s.kafka.replication),
        web_host=st.web_host, web_port=st.web_port, store=st.store, data_dir=st.data_dir,
        window_hours=st.window_hours, window_step_hours=st.window_step_hours,
        tumbling_days=st.tumbling_days, grace_hours=st.grace_hours, expires_days=st.expires_days,
    )
    values.update(overrides)
    return StreamConfig(**values)  # type: ignore[arg-type]


@app.command()
def worker(
    web_port: int = typer.Option(None, help="HTTP port of this worker (default from settings)"),
    loglevel: str = typer.Option("info"),
) -> None:
    """Run one Faust worker; start several for more throughput (partitions rebalance)."""
    import faust

    from streams.app import create_app

    s = load_settings()
    cfg = stream_config(s, **({"web_port": web_port} if web_port else {}))
    cfg.data_dir.mkdir(parents=True, exist_ok=True)
    faust_app = create_app(cfg)
    faust.Worker(faust_app, loglevel=loglevel, quiet=True).execute_from_commandline()
