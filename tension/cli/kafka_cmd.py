"""`tension kafka up|down|status|logs|fetch`: the embedded Apache Kafka broker."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from tension.localkafka import LocalCluster, LocalKafkaError, assemble
from tension.settings import LocalKafkaSettings, load_settings

app = typer.Typer(help="Run a real Apache Kafka 4.x (KRaft) locally, assembled from Maven Central.")
console = Console(stderr=True)


def cluster_from(cfg: LocalKafkaSettings, nodes: int = 1, run_dir: Path | None = None) -> LocalCluster:
    """The cluster described by settings; `nodes` picks the single node or the quorum folder."""
    dist = assemble(cfg.lib_root, cfg.version, cfg.scala, cfg.log4j_version)
    run = run_dir or cfg.home / ("run" if nodes == 1 else f"run-{nodes}")
    return LocalCluster(dist, run, nodes=nodes, host=cfg.host, port=cfg.port,
                        controller_port=cfg.controller_port, heap=cfg.heap)


def _existing(cfg: LocalKafkaSettings) -> list[LocalCluster]:
    """Clusters that have a run folder, without fetching anything."""
    from tension.localkafka.assemble import KafkaDistribution

    dist = KafkaDistribution(cfg.version, cfg.lib_root / cfg.version)
    found = []
    for nodes, sub in ((1, "run"), (3, "run-3")):
        if (cfg.home / sub).exists():
            found.append(LocalCluster(dist, cfg.home / sub, nodes=nodes, host=cfg.host,
                                      port=cfg.port, controller_port=cfg.controller_port, heap=cfg.heap))
    return found


def _fail(exc: Exception) -> None:
    console.print(f"[red]error:[/red] {exc}")
    raise typer.Exit(1)


@app.command()
def fetch() -> None:
    """Assemble the Kafka classpath from Maven Central (once; cached in .kafka/lib)."""
    cfg = load_settings().local_kafka
    try:
        dist = assemble(cfg.lib_root, cfg.version, cfg.scala, cfg.log4j_version)
    except LocalKafkaError as exc:
        _fail(exc)
    console.print(f"Kafka {dist.version} ready in {dist.lib_dir}")


@app.command()
def up(nodes: int = typer.Option(1, help="1, or 3 for a KRaft quorum with replication factor 3")) -> None:
    """Start the local broker (or quorum) and wait until it answers."""
    cfg = load_settings().local_kafka
    try:
        cluster = cluster_from(cfg, nodes)
        if cluster.running_pids():
            console.print(f"already running: {cluster.bootstrap}")
            return
        seconds = cluster.start(cfg.start_timeout_s)
    except (LocalKafkaError, ValueError) as exc:
        _fail(exc)
    console.print(f"Kafka {cfg.version} up ({nodes} node(s)) at [bold]{cluster.bootstrap}[/bold] "
                  f"in {seconds:.1f}s; logs: {cluster.log_file(1)}")
    typer.echo(cluster.bootstrap)


@app.command()
def down() -> None:
    """Stop every local broker this checkout started (SIGTERM, then SIGKILL after 30 s)."""
    cfg = load_settings().local_kafka
    stopped = [n for c in _existing(cfg) for n in c.stop()]
    console.print(f"stopped node(s) {stopped}" if stopped else "no local Kafka was running")


@app.command()
def status() -> None:
    """Show which local nodes run; exit 1 when none does."""
    cfg = load_settings().local_kafka
    any_up = False
    for cluster in _existing(cfg):
        pids = cluster.running_pids()
        for p in cluster.ports:
            state = f"running (pid {pids[p.node_id]})" if p.node_id in pids else "stopped"
            console.print(f"{cluster.run_dir.name} node {p.node_id} {cluster.host}:{p.client}: {state}")
        any_up = any_up or bool(pids)
    if not any_up:
        raise typer.Exit(1)


@app.command()
def logs(node: int = typer.Option(1), lines: int = typer.Option(50)) -> None:
    """Print the tail of a node's server log."""
    cfg = load_settings().local_kafka
    for cluster in _existing(cfg):
        if node <= cluster.nodes:
            typer.echo(f"== {cluster.log_file(node)}")
            typer.echo(cluster.log_tail(node, lines))
