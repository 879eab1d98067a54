"""Source connectors: read news from files, folders, URLs and stdin; publish them to Kafka.

``publish_paths`` is the entry point (the CLI's ``tension produce`` and the demo
call it). Readers never stop on bad input: each unusable record becomes a
``Rejection`` carrying a reason code and its original bytes, published to the
dead-letter topic.
"""

from connectors.sources.exceptions import InputError, PublishError, SourceError
from connectors.sources.inputs import read_inputs
from connectors.sources.normalize import ReadOptions, build_item, parse_datetime
from connectors.sources.publisher import PublishReport, publish_paths
from connectors.sources.rejects import REASONS, Rejection

__all__ = [
    "REASONS",
    "InputError",
    "PublishError",
    "PublishReport",
    "ReadOptions",
    "Rejection",
    "SourceError",
    "build_item",
    "parse_datetime",
    "publish_paths",
    "read_inputs",
]
