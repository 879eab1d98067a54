"""Errors of the local Schema Registry, each saying what to do about it."""

from __future__ import annotations


class LocalRegistryError(RuntimeError):
    """Base class: assembling or running the local Apicurio Registry failed."""


class RegistryFetchError(LocalRegistryError):
    """Maven could not fetch the Apicurio bundle, or it holds no runnable jar."""


class RegistryStartError(LocalRegistryError):
    """The registry process exited or did not answer before the deadline."""

    def __init__(self, message: str, log_path: str, log_tail: str) -> None:
        super().__init__(f"{message}\n--- last lines of {log_path} ---\n{log_tail}")
        self.log_path = log_path
        self.log_tail = log_tail


class RegistryPortInUseError(LocalRegistryError):
    """The HTTP port is already bound by another process."""

    def __init__(self, host: str, port: int) -> None:
        super().__init__(f"port {host}:{port} is already in use; stop whatever holds it or set "
                         "TENSION_LOCAL_REGISTRY__PORT")
        self.host = host
        self.port = port
