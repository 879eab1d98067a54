"""Data paths are anchored to TENSION_HOME or the working directory, never to the package directory.

Every data-path setting (``tension.settings.DATA_PATHS``) is checked for each
way of anchoring it: the working directory, an absolute TENSION_HOME, a
relative TENSION_HOME, and an absolute value given for the field itself.
A guard keeps new path settings from escaping the list, and `tension config`
run from another directory must print the effective absolute paths.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import BaseModel

from tension.config_doc import documented_defaults, rows
from tension.settings import DATA_PATHS, PROJECT_ROOT, Settings

FIELDS = [(group, name) for group, names in DATA_PATHS.items() for name in names]
#: Path settings that name a file the user hands in (TLS material), not where the product writes
USER_FILES = {("kafka", "ca_file"), ("kafka", "cert_file"), ("kafka", "key_file"), ("", "home")}


def _default(group: str, name: str) -> Path:
    return getattr(getattr(documented_defaults(), group), name)


@pytest.fixture
def elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for var in [k for k in os.environ if k.startswith("TENSION_")]:
        monkeypatch.delenv(var)
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    return cwd


@pytest.mark.parametrize(("group", "name"), FIELDS)
@pytest.mark.parametrize("anchor", ["cwd", "home-absolute", "home-relative", "value-absolute"])
def test_each_data_path_is_anchored(group: str, name: str, anchor: str, elsewhere: Path,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    default = _default(group, name)
    assert not default.is_absolute(), f"{group}.{name} defaults to an absolute path"
    expected = elsewhere / default
    if anchor == "home-absolute":
        monkeypatch.setenv("TENSION_HOME", str(elsewhere.parent / "home"))
        expected = elsewhere.parent / "home" / default
    elif anchor == "home-relative":
        monkeypatch.setenv("TENSION_HOME", "rel/home")
        expected = elsewhere / "rel" / "home" / default
    elif anchor == "value-absolute":
        expected = elsewhere.parent / "given" / "x"
        monkeypatch.setenv(f"TENSION_{group.upper()}__{name.upper()}", str(expected))
    got = getattr(getattr(Settings(_env_file=None), group), name)  # type: ignore[call-arg]
    assert got == expected and got.is_absolute()
    assert PROJECT_ROOT not in got.parents
    shown = {r.env: r.value for r in rows(Settings(_env_file=None))}  # type: ignore[call-arg]
    assert shown[f"TENSION_{group.upper()}__{name.upper()}"] == str(expected)


def test_every_path_setting_is_a_data_path_or_a_user_file() -> None:
    def path_fields(model: type[BaseModel], group: str = "") -> list[tuple[str, str]]:
        out = []
        for name, field in model.model_fields.items():
            ann = field.annotation
            if isinstance(ann, type) and issubclass(ann, BaseModel):
                out += path_fields(ann, name)
            elif "Path" in str(ann):
                out.append((group, name))
        return out

    found = set(path_fields(Settings))
    assert found - USER_FILES == set(FIELDS), "a path setting is neither anchored (DATA_PATHS) nor a user file"


def test_the_defaults_do_not_change_the_classes(elsewhere: Path) -> None:
    Settings(_env_file=None)  # type: ignore[call-arg]  # anchoring must copy, never mutate shared defaults
    assert all(not _default(g, n).is_absolute() for g, n in FIELDS)
    assert not Settings.model_fields["sink"].default.sqlite_path.is_absolute()


def test_tension_config_from_another_directory_prints_absolute_paths(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TENSION_")}
    env.update(PYTHONPATH=str(PROJECT_ROOT), COLUMNS="400")  # this checkout's code, run from tmp_path
    out = subprocess.run([sys.executable, "-m", "tension", "config"], cwd=tmp_path, env=env, capture_output=True,
                         text=True, timeout=60, check=True).stdout
    line = next(x for x in out.splitlines() if "TENSION_SINK__SQLITE_PATH" in x)
    assert str(tmp_path / "var" / "tension.sqlite") in line
    assert str(PROJECT_ROOT) not in out
