"""Errors of the embedded broker, each carrying what the user needs to fix it."""

from __future__ import annotations


class LocalKafkaError(RuntimeError):
    """Base class: something went wrong assembling or running the local broker."""


class MissingToolError(LocalKafkaError):
    """Java 17+ or Maven is not installed (or too old)."""

    def __init__(self, tool: str, detail: str) -> None:
        super().__init__(f"{tool} is required to run the embedded Kafka broker: {detail}")
        self.tool = tool


class PortInUseError(LocalKafkaError):
    """A port the broker needs is already bound by another process."""

    def __init__(self, host: str, port: int) -> None:
        super().__init__(
            f"port {host}:{port} is already in use; stop whatever holds it or choose other ports "
            "(TENSION_LOCAL_KAFKA__PORT / TENSION_LOCAL_KAFKA__CONTROLLER_PORT)"
        )
        self.host = host
        self.port = port


class BrokerStartError(LocalKafkaError):
    """The broker process exited or did not answer before the deadline."""

    def __init__(self, message: str, log_path: str, log_tail: str) -> None:
        super().__init__(f"{message}\n--- last lines of {log_path} ---\n{log_tail}")
        self.log_path = log_path
        self.log_tail = log_tail
