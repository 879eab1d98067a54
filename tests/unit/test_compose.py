"""docker-compose.yml cannot run here (no Docker engine); its structure is checked instead."""

from __future__ import annotations

from pathlib import Path

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
