"""The installed wheel works from any directory and writes its data there, not into site-packages.

The checkout's sources are copied, built into a wheel (pure Python, no build
isolation: nothing is downloaded) and installed into a fresh virtualenv whose
dependencies come from the test environment. From an unrelated working
directory, `tension config` must print absolute paths below that directory (or
below TENSION_HOME), and `tension sink sqlite` against the real broker must
create its store there; nothing may appear under the installed package.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import sysconfig
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tension.settings import PROJECT_ROOT
from tests.helpers import unique, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SOURCES = ("pyproject.toml", "setup.py", "README.md", "schemas", "streams", "connectors", "tension", "dashboard",
           "devenv", "classifier_lab", "seeds")


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The bin/ folder of a virtualenv with the wheel built from this checkout installed in it."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    ignore = shutil.ignore_patterns("__pycache__", "*.so", "*.pyc", "build", "*.egg-info")
    src.mkdir()
    for name in SOURCES:
        if (PROJECT_ROOT / name).is_dir():
            shutil.copytree(PROJECT_ROOT / name, src / name, ignore=ignore)
        else:
            shutil.copy2(PROJECT_ROOT / name, src / name)
    env = {**os.environ, "TENSION_PURE_PYTHON": "1"}
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(tmp / "dist"), str(src)],
                   env=env, check=True, timeout=120, capture_output=True)
    [wheel] = (tmp / "dist").glob("tension_stream-*.whl")
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=60)
    python = venv / "bin" / "python"
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             check=True, capture_output=True, text=True, timeout=30).stdout.strip()
    # --force-reinstall: a checkout visible to pip (PYTHONPATH, the editable install's metadata) makes it
    # report the wheel "already satisfied" and install nothing
    clean = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    subprocess.run([*pip, "--python", str(python), "install", "--no-deps", "--force-reinstall", str(wheel)],
                   check=True, timeout=120, capture_output=True, cwd=tmp, env=clean)
    # the dependencies of the test environment, added as a plain path: its own .pth files (among them
    # the editable install of this checkout) are not processed, so `tension` can only be the wheel
    (Path(purelib) / "_test_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    assert (Path(purelib) / "tension").is_dir(), "the wheel was not installed into the test virtualenv"
    yield venv / "bin"


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TENSION_") and k != "PYTHONPATH"}
    return {**env, "COLUMNS": "400", **extra}


def _package_dir(bin_dir: Path) -> Path:
    out = subprocess.run([str(bin_dir / "python"), "-c", "import tension, pathlib; "
                          "print(pathlib.Path(tension.__file__).resolve().parent.parent)"],
                         check=True, capture_output=True, text=True, timeout=30, cwd="/",
                         env=_env()).stdout.strip()  # without PYTHONPATH: the wheel, never a checkout
    return Path(out)


def _config(bin_dir: Path, cwd: Path, **extra: str) -> dict[str, str]:
    out = subprocess.run([str(bin_dir / "tension"), "config"], cwd=cwd, env=_env(**extra), check=True,
                         capture_output=True, text=True, timeout=60).stdout
    cells = [[c.strip() for c in line.split("│")] for line in out.splitlines() if line.startswith("│")]
    return {c[1]: c[2] for c in cells if len(c) > 3 and c[1].startswith("TENSION_")}


def test_the_wheel_is_what_runs(installed: Path) -> None:
    site = _package_dir(installed)
    assert site != PROJECT_ROOT and "site-packages" in str(site)


def test_the_wheel_carries_what_the_demo_publishes(installed: Path) -> None:
    """`tension demo` publishes PROJECT_ROOT/seeds by default: installed, every seed file is there."""
    out = subprocess.run([str(installed / "python"), "-c", "from tension.settings import PROJECT_ROOT; "
                          "print(PROJECT_ROOT / 'seeds')"], check=True, capture_output=True, text=True,
                         timeout=30, cwd="/", env=_env()).stdout.strip()
    shipped = Path(out)
    assert shipped.is_relative_to(_package_dir(installed)), shipped
    wanted = sorted(p.relative_to(PROJECT_ROOT / "seeds") for p in (PROJECT_ROOT / "seeds").rglob("*")
                    if p.is_file() and p.suffix in (".txt", ".json", ".jsonl"))
    assert wanted and sorted(p.relative_to(shipped) for p in shipped.rglob("*")
                             if p.is_file() and p.suffix in (".txt", ".json", ".jsonl")) == wanted


@pytest.mark.parametrize("home", [None, "absolute", "relative"])
def test_config_from_another_directory_shows_absolute_paths_there(installed: Path, tmp_path: Path,
                                                                  home: str | None) -> None:
    cwd = tmp_path / "somewhere"
    cwd.mkdir()
    extra, base = {}, cwd
    if home == "absolute":
        extra, base = {"TENSION_HOME": str(tmp_path / "home")}, tmp_path / "home"
    elif home == "relative":
        extra, base = {"TENSION_HOME": "data"}, cwd / "data"
    shown = _config(installed, cwd, **extra)
    assert shown["TENSION_SINK__SQLITE_PATH"] == str(base / "var" / "tension.sqlite")
    assert shown["TENSION_STREAM__DATA_DIR"] == str(base / ".state" / "worker")
    assert shown["TENSION_LOCAL_KAFKA__HOME"] == str(base / ".kafka")
    site = str(_package_dir(installed))
    assert not [v for v in shown.values() if v.startswith(site)]


def test_the_sink_store_lands_in_the_working_directory(installed: Path, kafka: Any, tmp_path: Path) -> None:
    cwd = tmp_path / "run-here"
    cwd.mkdir()
    tag = unique("w").rsplit("-", 1)[-1]
    env = _env(TENSION_KAFKA_BOOTSTRAP=kafka.bootstrap, TENSION_TOPICS__CLASSIFIED=f"w.c-{tag}",
               TENSION_TOPICS__INDEX=f"w.i-{tag}", TENSION_TOPICS__ALERTS=f"w.a-{tag}",
               TENSION_TOPICS__DEADLETTER=f"w.d-{tag}", TENSION_SINK__GROUP_PREFIX=f"w-{tag}")
    log = tmp_path / "sink.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([str(installed / "tension"), "sink", "sqlite"], cwd=cwd, env=env, stdout=out,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    store = cwd / "var" / "tension.sqlite"
    try:
        wait_for(lambda: store.exists() or proc.poll() is not None, 60, f"the store at {store}")
        assert proc.poll() is None, log.read_text(errors="replace")
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    assert store.exists()
    site = _package_dir(installed)
    assert not [p for p in ("var", ".state") if (site / p).exists()], "data written into site-packages"
    assert not list(site.rglob("*.sqlite"))
