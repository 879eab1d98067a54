"""The embedded Apache Kafka broker: assembled from Maven Central, run as local processes.

No Docker engine runs on our machines, so `tension kafka up` builds the broker's
classpath with Maven (``org.apache.kafka:kafka_2.13`` plus the log4j2 bridge the
POM does not pull), formats KRaft storage and starts combined broker+controller
nodes on loopback.
"""

from devenv.localkafka.assemble import KafkaDistribution, assemble
from devenv.localkafka.cluster import LocalCluster, NodePorts
from devenv.localkafka.exceptions import (
    BrokerStartError,
    LocalKafkaError,
    MissingToolError,
    PortInUseError,
)

__all__ = [
    "BrokerStartError",
    "KafkaDistribution",
    "LocalCluster",
    "LocalKafkaError",
    "MissingToolError",
    "NodePorts",
    "PortInUseError",
    "assemble",
]
