"""Fetch Apicurio Registry's runnable bundle from Maven Central, once, into a cached folder.

``io.apicurio:apicurio-registry-app`` publishes its runnable Quarkus build as
the ``all`` classifier (``zip`` for 2.x and 3.0.x, ``tar.gz`` for later 3.x):
a ``*-runner.jar`` plus ``lib/`` (legacy-jar layout) or ``quarkus-app/quarkus-run.jar``
(fast-jar layout). The plain ``.jar`` is only the application classes and does
not run. We use Maven (already needed for the broker) so proxies and mirrors
configured for Maven apply here too.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from devenv.localkafka.assemble import require_java
from devenv.localkafka.exceptions import MissingToolError
from devenv.procs import exclusive
from devenv.registry.exceptions import RegistryFetchError

log = logging.getLogger(__name__)

GROUP = "io.apicurio"
ARTIFACT = "apicurio-registry-app"
CLASSIFIER = "all"
_MARKER = ".complete"


@dataclass(frozen=True)
class RegistryDistribution:
    """An unpacked Apicurio bundle and the jar that starts it."""

    version: str
    app_dir: Path
    jar: Path


def _packaging(version: str) -> str:
    major, minor = (int(p) for p in version.split(".")[:2])
    return "zip" if (major, minor) < (3, 1) else "tar.gz"


def find_runner(app_dir: Path) -> Path | None:
    """The runnable jar inside an unpacked bundle (either Quarkus layout)."""
    fast = sorted(app_dir.rglob("quarkus-run.jar"))
    if fast:
        return fast[0]
    legacy = sorted(app_dir.rglob("*-runner.jar"))
    return legacy[0] if legacy else None


def assemble(home: Path, version: str) -> RegistryDistribution:
    """Return the cached bundle, fetching and unpacking it on first use."""
    app_dir = home / "app" / version
    if (app_dir / _MARKER).exists() and (jar := find_runner(app_dir)):
        return RegistryDistribution(version, app_dir, jar)
    with exclusive(home / f".fetch-{version}.lock"):  # another process may be fetching it right now
        if (app_dir / _MARKER).exists() and (jar := find_runner(app_dir)):
            return RegistryDistribution(version, app_dir, jar)
        return _fetch(home, app_dir, version)


def _fetch(home: Path, app_dir: Path, version: str) -> RegistryDistribution:
    require_java()
    mvn = shutil.which("mvn")
    if mvn is None:
        raise MissingToolError("Maven", "no `mvn` on PATH (Debian: apt-get install maven)")
    packaging = _packaging(version)
    dist_dir = home / "dist"
    dist_dir.mkdir(parents=True, exist_ok=True)
    coords = f"{GROUP}:{ARTIFACT}:{version}:{packaging}:{CLASSIFIER}"
    log.info("fetching Apicurio Registry %s (%s) from Maven Central (once)", version, coords)
    proc = subprocess.run([mvn, "-B", "-q", "dependency:copy", f"-Dartifact={coords}",
                           f"-DoutputDirectory={dist_dir}"], capture_output=True, text=True, check=False)
    archive = dist_dir / f"{ARTIFACT}-{version}-{CLASSIFIER}.{packaging}"
    if proc.returncode != 0 or not archive.exists():
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-20:])
        raise RegistryFetchError(f"Maven could not fetch {coords} (exit {proc.returncode}):\n{tail}")
    staging = app_dir.with_name(app_dir.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        if packaging == "zip":
            with zipfile.ZipFile(archive) as zf:
                zf.extractall(staging)
        else:
            with tarfile.open(archive) as tf:
                tf.extractall(staging, filter="data")
    except (zipfile.BadZipFile, tarfile.TarError, OSError) as exc:
        raise RegistryFetchError(f"cannot unpack {archive}: {exc}") from exc
    if find_runner(staging) is None:
        raise RegistryFetchError(f"{archive.name} holds neither quarkus-run.jar nor a *-runner.jar")
    shutil.rmtree(app_dir, ignore_errors=True)
    staging.rename(app_dir)
    (app_dir / _MARKER).write_text(f"{coords}\n")
    jar = find_runner(app_dir)
    if jar is None:  # pragma: no cover - checked on the staging copy just above
        raise RegistryFetchError(f"runnable jar vanished from {app_dir}")
    log.info("Apicurio Registry %s ready: %s", version, jar)
    return RegistryDistribution(version, app_dir, jar)
