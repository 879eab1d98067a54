"""docker-compose.yml is validated: by `docker compose config` where a Docker client with the compose
plugin exists, and always by structure checks (PyYAML) that are shown to fail on broken copies."""

from __future__ import annotations

import base64
import copy
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

from tension.settings import PROJECT_ROOT, Settings

COMPOSE = PROJECT_ROOT / "docker-compose.yml"


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def setting_exists(env_name: str) -> bool:
    """Does TENSION_<A>__<B> (or an alias) name a real field of Settings?"""
    assert env_name.startswith("TENSION_")
    path = env_name[len("TENSION_"):].lower().split("__")
    model: type[BaseModel] = Settings
    for depth, part in enumerate(path):
        fields = model.model_fields
        field = fields.get(part)
        if field is None:
            aliases = {a.lower() for f in fields.values() for a in _aliases(f)}
            return depth == 0 and env_name.lower() in aliases
        annotation = field.annotation
        if depth < len(path) - 1:
            if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
                return False
            model = annotation
    return True


def _aliases(field: object) -> list[str]:
    alias = getattr(field, "validation_alias", None)
    return list(getattr(alias, "choices", []) or ([] if alias is None else [alias]))


def test_expected_services(compose: dict) -> None:
    assert {"kafka", "topics", "worker", "sink"} <= set(compose["services"])


def test_images_are_pinned(compose: dict) -> None:
    for name, svc in compose["services"].items():
        image = svc["image"]
        repo, _, tag = image.rpartition(":")
        assert repo and tag and tag != "latest", f"{name}: image {image!r} is not pinned to a tag"
    dockerfile = (PROJECT_ROOT / "Dockerfile").read_text()
    base = next(line.split()[1] for line in dockerfile.splitlines() if line.startswith("FROM "))
    assert ":" in base and not base.endswith(":latest")


def test_kafka_is_kraft_4x_with_healthcheck(compose: dict) -> None:
    kafka = compose["services"]["kafka"]
    assert kafka["image"].startswith("apache/kafka:4.")
    assert "controller" in kafka["environment"]["KAFKA_PROCESS_ROLES"]
    assert kafka["healthcheck"]["test"]


def test_long_running_services_have_healthchecks(compose: dict) -> None:
    for name in ("kafka", "worker", "sink"):
        assert compose["services"][name].get("healthcheck", {}).get("test"), f"{name} has no healthcheck"


@pytest.mark.parametrize("name", ["worker", "sink"])
def test_worker_and_sink_healthchecks_ask_their_healthz(compose: dict, name: str) -> None:
    svc = compose["services"][name]
    env = svc["environment"]
    port = env.get("TENSION_STREAM__WEB_PORT") if name == "worker" else env.get("TENSION_SINK__METRICS_PORT")
    assert port, f"{name}: no port for /healthz in its environment"
    assert f"http://127.0.0.1:{port}/healthz" in " ".join(svc["healthcheck"]["test"])


def test_ports_bind_to_loopback_only(compose: dict) -> None:
    for name, svc in compose["services"].items():
        for port in svc.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} beyond loopback"


def test_env_names_match_settings(compose: dict) -> None:
    names = {k for svc in compose["services"].values() for k in (svc.get("environment") or {})
             if k.startswith("TENSION_")}
    assert names, "services should be configured through TENSION_ variables"
    unknown = sorted(n for n in names if not setting_exists(n))
    assert not unknown, f"not settings fields: {unknown}"


def test_checker_bites() -> None:
    assert setting_exists("TENSION_SINK__SQLITE_PATH")
    assert setting_exists("TENSION_KAFKA_BOOTSTRAP")
    assert not setting_exists("TENSION_SINK__SQLITE_PATHS")
    assert not setting_exists("TENSION_NOPE")


def test_services_wait_for_a_healthy_broker(compose: dict) -> None:
    assert compose["services"]["topics"]["depends_on"]["kafka"]["condition"] == "service_healthy"
    for name in ("worker", "sink"):
        assert compose["services"][name]["depends_on"]["topics"]["condition"] == "service_completed_successfully"


def test_dockerfile_copies_every_package() -> None:
    text = (PROJECT_ROOT / "Dockerfile").read_text()
    for pkg in ("schemas", "streams", "connectors", "tension"):
        assert f"COPY {pkg} " in text
    assert Path(PROJECT_ROOT / "pyproject.toml").exists()


# -- what issue 14 asks of the file: data on the volume, fixed cluster id, dashboard, profiles ---------


def _mounts(svc: dict[str, Any]) -> dict[str, str]:
    """Container path → named volume, for the service's ``volume:/path`` mounts."""
    out = {}
    for entry in svc.get("volumes", []):
        source, _, target = str(entry).partition(":")
        out[target.split(":")[0]] = source
    return out


def _on_volume(compose: dict[str, Any], svc: dict[str, Any], path: str) -> bool:
    declared = set(compose.get("volumes") or {})
    return any((path == t or path.startswith(t.rstrip("/") + "/")) and v in declared for t, v in _mounts(svc).items())


def check_kafka_data(compose: dict[str, Any]) -> list[str]:
    kafka = compose["services"]["kafka"]
    env = kafka.get("environment") or {}
    log_dirs = str(env.get("KAFKA_LOG_DIRS", ""))
    problems = []
    if not log_dirs:
        problems.append("KAFKA_LOG_DIRS is unset: the broker writes to the image default under /tmp")
    elif not all(_on_volume(compose, kafka, d) for d in log_dirs.split(",")):
        problems.append(f"KAFKA_LOG_DIRS {log_dirs} is not on a declared named volume")
    cluster_id = str(env.get("CLUSTER_ID", ""))
    try:
        ok = len(base64.urlsafe_b64decode(cluster_id + "==")) == 16 and len(cluster_id) == 22
    except ValueError:
        ok = False
    if not ok:
        problems.append(f"CLUSTER_ID {cluster_id!r} is not a fixed 22-character base64 uuid")
    return problems


def check_dashboard(compose: dict[str, Any]) -> list[str]:
    services = compose["services"]
    dash, sink = services.get("dashboard"), services.get("sink")
    if dash is None or sink is None:
        return ["no dashboard (or sink) service"]
    problems = []
    if dash.get("profiles"):
        problems.append("the dashboard must run by default")
    if list(dash.get("command", []))[:1] != ["dashboard"]:
        problems.append("the dashboard service does not run `tension dashboard`")
    store = str(dash.get("environment", {}).get("TENSION_DASHBOARD__STORE", ""))
    path = store.removeprefix("sqlite:///")
    if path != str(sink["environment"].get("TENSION_SINK__SQLITE_PATH")):
        problems.append(f"the dashboard reads {store!r}, not the file the sink writes")
    shared = {v for t, v in _mounts(dash).items() if path.startswith(t)} & {
        v for t, v in _mounts(sink).items() if path.startswith(t)}
    if not shared:
        problems.append("the dashboard and the sink do not share the volume of the SQLite file")
    if not any(str(p).startswith("127.0.0.1:") for p in dash.get("ports", [])):
        problems.append("the dashboard publishes no loopback port")
    return problems


def check_profiles(compose: dict[str, Any]) -> list[str]:
    services = compose["services"]
    problems = []
    for name, profile in (("postgres", "postgres"), ("sink-postgres", "postgres"), ("registry", "registry")):
        if name not in services:
            problems.append(f"no {name} service")
        elif services[name].get("profiles") != [profile]:
            problems.append(f"{name} is not in the optional profile {profile!r}")
    for name in ("kafka", "topics", "worker", "sink", "dashboard"):
        if services.get(name, {}).get("profiles"):
            problems.append(f"{name} must run without a profile")
    dsn = str(services.get("sink-postgres", {}).get("environment", {}).get("TENSION_SINK__POSTGRES_DSN", ""))
    if "@postgres:" not in dsn:
        problems.append("the PostgreSQL sink does not connect to the postgres service")
    return problems


def check_dependencies(compose: dict[str, Any]) -> list[str]:
    """Every dependency names a service; one on a profiled service from a default one is optional."""
    services = compose["services"]
    problems = []
    for name, svc in services.items():
        deps = svc.get("depends_on") or {}
        for dep, spec in (deps.items() if isinstance(deps, dict) else ((d, {}) for d in deps)):
            if dep not in services:
                problems.append(f"{name} depends on unknown service {dep}")
            elif services[dep].get("profiles") and not set(services[dep]["profiles"]) & set(svc.get("profiles", [])) \
                    and (spec or {}).get("required", True):
                problems.append(f"{name} requires {dep}, which runs only with a profile")
        for entry in svc.get("volumes", []):
            source = str(entry).partition(":")[0]
            if not source.startswith((".", "/")) and source not in (compose.get("volumes") or {}):
                problems.append(f"{name} mounts undeclared volume {source}")
    return problems


_INTERPOLATION = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)([^}]*)\}")


def check_interpolations(text: str) -> list[str]:
    """Every ``${VAR}`` has a default, so a plain `docker compose up` needs no environment."""
    return [f"${{{m.group(1)}}} has no default" for m in _INTERPOLATION.finditer(text)
            if not m.group(2).startswith((":-", "-"))]


CHECKS: list[Callable[[dict[str, Any]], list[str]]] = [check_kafka_data, check_dashboard, check_profiles,
                                                       check_dependencies]


def test_the_file_passes_every_check(compose: dict) -> None:
    problems = [p for check in CHECKS for p in check(compose)] + check_interpolations(COMPOSE.read_text())
    assert not problems, problems


def _drop(path: tuple[str, ...]) -> Callable[[dict], None]:
    def mutate(doc: dict) -> None:
        node = doc
        for key in path[:-1]:
            node = node[key]
        del node[path[-1]]
    return mutate


def _set(path: tuple[str, ...], value: Any) -> Callable[[dict], None]:
    def mutate(doc: dict) -> None:
        node = doc
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
    return mutate


BROKEN: dict[str, Callable[[dict], None]] = {
    "no log dirs": _drop(("services", "kafka", "environment", "KAFKA_LOG_DIRS")),
    "log dirs off the volume": _set(("services", "kafka", "environment", "KAFKA_LOG_DIRS"), "/tmp/kraft"),
    "volume undeclared": _drop(("volumes", "kafka-data")),
    "no cluster id": _drop(("services", "kafka", "environment", "CLUSTER_ID")),
    "cluster id not a uuid": _set(("services", "kafka", "environment", "CLUSTER_ID"), "my-cluster"),
    "no dashboard": _drop(("services", "dashboard")),
    "dashboard behind a profile": _set(("services", "dashboard", "profiles"), ["ui"]),
    "dashboard reads another file": _set(("services", "dashboard", "environment", "TENSION_DASHBOARD__STORE"),
                                         "sqlite:////data/other.sqlite"),
    "dashboard on its own volume": _set(("services", "dashboard", "volumes"), ["worker-state:/data"]),
    "dashboard on all interfaces": _set(("services", "dashboard", "ports"), ["8765:8765"]),
    "postgres always on": _drop(("services", "postgres", "profiles")),
    "no registry": _drop(("services", "registry")),
    "registry required by the worker": _set(("services", "worker", "depends_on", "registry"),
                                            {"condition": "service_healthy"}),
    "dependency on nothing": _set(("services", "sink", "depends_on", "nothing"), {"condition": "service_started"}),
    "sink-postgres elsewhere": _set(("services", "sink-postgres", "environment", "TENSION_SINK__POSTGRES_DSN"),
                                    "postgresql://u@db:5432/x"),
}


@pytest.mark.parametrize("mutation", sorted(BROKEN))
def test_every_check_fails_on_a_broken_copy(compose: dict, mutation: str) -> None:
    doc = copy.deepcopy(compose)
    BROKEN[mutation](doc)
    assert [p for check in CHECKS for p in check(doc)], f"no check noticed: {mutation}"


@pytest.mark.parametrize(("text", "bad"), [("${A:-x}", 0), ("${A-}", 0), ("${A}", 1), ("${A:?need A}", 1)])
def test_interpolation_check_bites(text: str, bad: int) -> None:
    assert len(check_interpolations(f"x: {text}")) == bad


def _compose_cli() -> list[str] | None:
    docker = shutil.which("docker")
    if docker and subprocess.run([docker, "compose", "version"], capture_output=True, timeout=20).returncode == 0:
        return [docker, "compose"]
    return None


@pytest.mark.skipif(_compose_cli() is None, reason="no Docker client with the compose plugin here; "
                                                   "the structure checks above stand in for it")
@pytest.mark.parametrize("profiles", [[], ["postgres"], ["registry"], ["postgres", "registry"]], ids=str)
def test_docker_compose_config_accepts_the_file(profiles: list[str]) -> None:
    cli = _compose_cli()
    assert cli is not None
    args = [*cli, "-f", str(COMPOSE), *(a for p in profiles for a in ("--profile", p)), "config", "--quiet"]
    done = subprocess.run(args, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def _registry_check(compose: dict, port: int) -> list[str]:
    """The registry's health check as compose runs it ($$ → $), aimed at `port` instead of the container's."""
    test = compose["services"]["registry"]["healthcheck"]["test"]
    assert test[0] == "CMD", "exec form: no /bin/sh assumed"
    return [part.replace("$$", "$").replace("/127.0.0.1/8080", f"/127.0.0.1/{port}") for part in test[1:]]


def test_registry_healthcheck_needs_only_bash(compose: dict) -> None:
    """The Apicurio image has no curl or wget: the check may use bash and its builtins only."""
    argv = _registry_check(compose, 8080)
    assert argv[:2] == ["bash", "-c"]
    assert not re.search(r"\b(curl|wget|nc|python|java)\b", argv[2]), argv[2]


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
@pytest.mark.parametrize(("status", "healthy"), [(200, True), (503, False), (None, False)])
def test_registry_healthcheck_reads_the_status_line(compose: dict, status: int | None, healthy: bool) -> None:
    import http.server
    import socket
    import threading

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
            code = status if self.path == "/apis/ccompat/v7/subjects" else 404
            self.send_response(code or 500)
            self.end_headers()
            self.wfile.write(b"[]")

        def log_message(self, *args: object) -> None:
            pass

    if status is None:  # nothing listens: a closed port
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        server = None
    else:
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        port = server.server_address[1]
        threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        proc = subprocess.run(_registry_check(compose, port), capture_output=True, text=True, timeout=20)
    finally:
        if server is not None:
            server.shutdown()
            server.server_close()
    assert (proc.returncode == 0) is healthy, proc.stderr
