"""A local Confluent-compatible Schema Registry: Apicurio Registry from Maven Central.

`tension registry up` fetches ``io.apicurio:apicurio-registry-app`` (its
runnable ``all`` bundle) once, runs it with in-memory storage on loopback and
prints the URL of its Confluent-compatible API (``/apis/ccompat/v7``) — what
``TENSION_REGISTRY_URL`` takes to switch producers to Confluent framing.
"""

from devenv.registry.assemble import RegistryDistribution, assemble, find_runner
from devenv.registry.exceptions import (
    LocalRegistryError,
    RegistryFetchError,
    RegistryPortInUseError,
    RegistryStartError,
)
from devenv.registry.server import CCOMPAT_PATH, LocalRegistry, free_port

__all__ = [
    "CCOMPAT_PATH",
    "LocalRegistry",
    "LocalRegistryError",
    "RegistryDistribution",
    "RegistryFetchError",
    "RegistryPortInUseError",
    "RegistryStartError",
    "assemble",
    "find_runner",
    "free_port",
]
