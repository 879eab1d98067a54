"""`tension kafka up|down|status|logs|fetch`: the embedded Apache Kafka broker."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import typer
from rich.console import Console

from tension.exits import EXIT_INVALID, fail
from tension.settings import LocalKafkaSettings, load_settings
from tension.wiring import LOCAL_RUN_DIRS, local_cluster

if TYPE_CHECKING:  # pragma: no cover - types only; devenv is loaded inside the commands
    from devenv.localkafka import LocalCluster

app = typer.Typer(help="Run a real Apache Kafka 4.x (KRaft) locally, assembled from Maven Central.")
console = Console(stderr=True)


def _existing(cfg: LocalKafkaSettings) -> list[LocalCluster]:
    """Clusters that have a run folder, without fetching anything."""
    return [local_cluster(cfg, nodes, cfg.home / sub, secure, fetch=False)
            for (nodes, secure), sub in LOCAL_RUN_DIRS.items() if (cfg.home / sub).exists()]


def _fail(exc: Exception) -> NoReturn:
    fail(str(exc), EXIT_INVALID)


@app.command()
def fetch() -> None:
    """Assemble the Kafka classpath from Maven Central (once; cached in .kafka/lib)."""
    from devenv.localkafka import LocalKafkaError, assemble

    cfg = load_settings().local_kafka
    try:
        dist = assemble(cfg.lib_root, cfg.version, cfg.scala, cfg.log4j_version)
    except LocalKafkaError as exc:
        _fail(exc)
    console.print(f"Kafka {dist.version} ready in {dist.lib_dir}")


@app.command()
def up(nodes: int = typer.Option(1, help="1, or 3 for a KRaft quorum with replication factor 3"),
       secure: bool = typer.Option(False, "--secure", help="SASL_SSL (SCRAM-SHA-512) listener, local CA, "
                                   "StandardAuthorizer; the super user's settings go to <run>/tls/admin.env")) -> None:
    """Start the local broker (or quorum) and wait until it answers."""
    from devenv.localkafka import LocalKafkaError

    cfg = load_settings().local_kafka
    try:
        cluster = local_cluster(cfg, nodes, secure=secure)
        if cluster.running_pids():
            console.print(f"already running: {cluster.bootstrap}")
            return
        seconds = cluster.start(cfg.start_timeout_s)
    except (LocalKafkaError, ValueError) as exc:
        _fail(exc)
    console.print(f"Kafka {cfg.version} up ({nodes} node(s)) at [bold]{cluster.bootstrap}[/bold] "
                  f"in {seconds:.1f}s; logs: {cluster.log_file(1)}")
    if cluster.security is not None:
        console.print(f"SASL_SSL with SCRAM-SHA-512; CA: {cluster.security.tls.ca}; super user 'admin': "
                      f"`set -a; . {cluster.security.env_file}; set +a` (password in a 0600 file, never printed)")
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


@app.command()
def user(name: str = typer.Argument(..., help="the principal User:<name> to create or update"),
         password_file: Path = typer.Option(..., "--password-file", exists=True, dir_okay=False,
                                            help="file holding the new password (never a command-line argument)"),
         mechanism: str = typer.Option("SCRAM-SHA-512", help="SCRAM-SHA-512 or SCRAM-SHA-256")) -> None:
    """Create or update a SCRAM user, connecting with TENSION_KAFKA__* as a super user."""
    from tension.access import upsert_user

    upsert_user(load_settings().connection(), name, password_file.read_text().strip(), mechanism)
    console.print(f"user {name} ({mechanism}) set")


@app.command()
def grant(component: str = typer.Argument(..., help="producer, worker, sink:sqlite, sink:postgres or sink:files"),
          name: str = typer.Option(..., "--user", help="the principal User:<name>"),
          print_only: bool = typer.Option(False, "--print", help="print kafka-acls.sh commands instead")) -> None:
    """Grant a component's least-privilege ACLs (topic names, app id, sink groups from settings)."""
    from tension.access import COMPONENTS, as_commands, component_acls, grant as apply_acls
    from tension.wiring import topic_config

    if component not in COMPONENTS:
        raise typer.BadParameter(f"choose one of {', '.join(COMPONENTS)}", param_hint="COMPONENT")
    s = load_settings()
    acls = component_acls(component, name, topic_config(s), app_id=s.stream.app_id, group_prefix=s.sink.group_prefix)
    if print_only:
        typer.echo("\n".join(as_commands(acls, s.bootstrap)))
        return
    count = apply_acls(s.connection(), acls)
    console.print(f"granted {count} ACL(s) to User:{name} for {component}")
