"""Build the broker's classpath from Maven Central, once, into a cached folder.

The Apache Kafka tarball is not on a registry we reach, but its jars are: the
``kafka_2.13`` POM pulls the server and its dependencies, and we add the
log4j2 core and the slf4j-1.x bridge that the tarball ships but the POM leaves
out. The result is cached under ``<home>/lib/<version>`` with a marker file, so
later runs start in seconds and work offline.
"""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from devenv.localkafka.exceptions import LocalKafkaError, MissingToolError
from devenv.procs import exclusive

log = logging.getLogger(__name__)

_POM = """<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>tension-stream.local</groupId>
  <artifactId>kafka-classpath</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka_{scala}</artifactId>
      <version>{kafka}</version>
    </dependency>
    <dependency>
      <groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-api</artifactId>
      <version>{log4j}</version>
    </dependency>
    <dependency>
      <groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-core</artifactId>
      <version>{log4j}</version>
    </dependency>
    <dependency>
      <groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-slf4j-impl</artifactId>
      <version>{log4j}</version>
    </dependency>
  </dependencies>
</project>
"""

_MARKER = ".complete"


@dataclass(frozen=True)
class KafkaDistribution:
    """A ready classpath: the folder of jars and the Kafka version it holds."""

    version: str
    lib_dir: Path

    @property
    def classpath(self) -> str:
        return str(self.lib_dir / "*")


def java_major_version(java: str = "java") -> int:
    """Return the major version of `java`, or raise MissingToolError."""
    exe = shutil.which(java)
    if exe is None:
        raise MissingToolError("Java 17+", "no `java` on PATH (Debian: apt-get install openjdk-17-jre-headless)")
    out = subprocess.run([exe, "-version"], capture_output=True, text=True, check=False)
    match = re.search(r'version "(\d+)(?:\.(\d+))?', out.stderr + out.stdout)
    if not match:
        raise MissingToolError("Java 17+", f"cannot read the version from: {out.stderr.strip()[:200]}")
    major = int(match.group(1))
    if major == 1 and match.group(2):  # "1.8.0" style
        major = int(match.group(2))
    return major


def require_java(minimum: int = 17) -> None:
    major = java_major_version()
    if major < minimum:
        raise MissingToolError(
            "Java 17+", f"found Java {major}; Kafka 4.x brokers need Java {minimum} or newer"
        )


def assemble(lib_root: Path, version: str, scala: str = "2.13", log4j: str = "2.24.3") -> KafkaDistribution:
    """Fetch the classpath once; later calls return the cached folder at once."""
    lib_dir = lib_root / version
    if (lib_dir / _MARKER).exists():
        return KafkaDistribution(version, lib_dir)
    with exclusive(lib_root / f".fetch-{version}.lock"):  # another process may be fetching it right now
        if (lib_dir / _MARKER).exists():
            return KafkaDistribution(version, lib_dir)
        return _fetch(lib_root, lib_dir, version, scala, log4j)


def _fetch(lib_root: Path, lib_dir: Path, version: str, scala: str, log4j: str) -> KafkaDistribution:
    require_java()
    mvn = shutil.which("mvn")
    if mvn is None:
        raise MissingToolError("Maven", "no `mvn` on PATH (Debian: apt-get install maven)")
    build_dir = lib_root / "_build" / version
    build_dir.mkdir(parents=True, exist_ok=True)
    (build_dir / "pom.xml").write_text(_POM.format(scala=scala, kafka=version, log4j=log4j))
    staging = lib_dir.with_name(lib_dir.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    log.info("fetching Apache Kafka %s and its dependencies from Maven Central (once)", version)
    proc = subprocess.run(
        [mvn, "-B", "-q", "dependency:copy-dependencies", f"-DoutputDirectory={staging}",
         "-DincludeScope=runtime"],
        cwd=build_dir, capture_output=True, text=True, check=False,
    )
    jars = sorted(staging.glob("*.jar")) if staging.exists() else []
    if proc.returncode != 0 or not any(j.name.startswith(f"kafka_{scala}-") for j in jars):
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-20:])
        raise LocalKafkaError(f"Maven could not assemble Kafka {version} (exit {proc.returncode}):\n{tail}")
    shutil.rmtree(lib_dir, ignore_errors=True)
    staging.rename(lib_dir)
    (lib_dir / _MARKER).write_text(f"kafka {version}, {len(jars)} jars\n")
    log.info("assembled Kafka %s: %d jars in %s", version, len(jars), lib_dir)
    return KafkaDistribution(version, lib_dir)
