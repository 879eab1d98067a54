"""docs/configuration.md documents every setting, and every setting says what it is for."""

from __future__ import annotations

from tension.config_doc import documented_defaults, markdown, rows
from tension.settings import PROJECT_ROOT, Settings


def defaults() -> Settings:
    return documented_defaults()


def test_every_setting_has_a_description() -> None:
    missing = [r.env for r in rows(defaults()) if not r.description.strip()]
    assert not missing, f"settings without a description: {missing}"


def test_doc_matches_the_settings(monkeypatch) -> None:
    for name in [k for k in __import__("os").environ if k.startswith("TENSION_")]:
        monkeypatch.delenv(name)
    doc = (PROJECT_ROOT / "docs" / "configuration.md").read_text()
    assert markdown(defaults()) in doc, "regenerate: tension config --markdown (see docs/configuration.md)"


def test_secrets_are_masked() -> None:
    s = Settings(_env_file=None, sink={"postgres_dsn": "postgresql://u:hunter2@h/db"})  # type: ignore[call-arg]
    shown = {r.env: r.value for r in rows(s)}
    assert "hunter2" not in markdown(s)
    assert shown["TENSION_SINK__POSTGRES_DSN"] == "**********"


def test_registry_url_is_a_secret() -> None:
    url = "https://alice:hunter2@registry.example:8081"
    s = Settings(_env_file=None, registry_url=url)  # type: ignore[call-arg]
    assert {r.env: r.value for r in rows(s)}["TENSION_REGISTRY_URL"] == "**********"
    assert "hunter2" not in markdown(s) + repr(s) + str(s.model_dump())
    cfg = s.registry()
    assert cfg is not None and cfg.url == url and "hunter2" not in repr(cfg) + cfg.display
    assert Settings(_env_file=None).registry() is None  # type: ignore[call-arg]
