"""Sum py-spy collapsed stacks (``--format raw``) of a worker by stage and by kind of work.

Run: .venv/bin/python bench/spy_report.py DIR/*.txt   (written by ``bench/peers.py --spy DIR``)

Each sample is charged to one *stage* (the agent whose code is on the stack:
``ClassifyStage`` / ``IndexStage``; anything else is the runtime: Faust's
consumer, conductor, stream iteration and commits, aiokafka, asyncio) and to
one *kind*, the first rule below that matches any frame of the stack, so a
classifier frame under the classify stage counts as "classifier", not as
"faust". The rules are substrings of py-spy's frame text ("func (file:line)").
A sample whose innermost frame is the selector's ``select`` is a thread waiting
for I/O (py-spy counts it as active here): it is left out, as idle.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

KINDS = (  # first match wins, in this order
    ("start-up (imports)", ("<frozen importlib",)),
    ("classifier", ("streams/classifier/", "classifier/")),
    ("fold (index/state/windows)", ("streams/index.py", "streams/state.py", "streams/windows.py",
                                    "streams/processing.py")),
    ("avro encode/decode", ("fastavro", "schemas/serde", "json/")),
    ("table/store (rocksdb, changelog)", ("faust/stores", "faust/tables", "rocksdict")),
    ("faust changelog sends (ProducerBuffer)", ("ProducerBuffer", "publish_message")),
    ("producing (aiokafka producer)", ("aiokafka/producer", "streams/sending.py", "send (faust/transport")),
    ("outbox/dead letters", ("streams/agents/outbox.py",)),
    ("metrics", ("prometheus_client", "streams/metrics.py")),
    ("consumer fetch (aiokafka)", ("aiokafka/consumer", "aiokafka/record")),
    ("socket I/O (aiokafka conn)", ("aiokafka/conn", "aiokafka/client", "selector_events")),
    ("faust fetcher/conductor/stream", ("faust/transport/consumer", "faust/transport/conductor", "faust/streams",
                                        "faust/channels", "faust/topics", "faust/events")),
    ("faust/mode other", ("faust/", "mode/")),
    ("asyncio loop", ("asyncio/", "selectors")),
)
STAGES = (("classify stage", ("ClassifyStage", "classify_items")), ("index stage", ("IndexStage", "index_facts")))


def classify_stack(frames: list[str]) -> tuple[str, str]:
    stage = next((name for name, marks in STAGES if any(m in f for f in frames for m in marks)), "runtime")
    kind = next((name for name, marks in KINDS if any(m in f for f in frames for m in marks)), "other")
    return stage, kind


def main(paths: list[str]) -> None:
    by: Counter[tuple[str, str]] = Counter()
    stages: Counter[str] = Counter()
    for path in paths:
        for line in Path(path).read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            if not stack or not count.isdigit():
                continue
            if "select (selectors" in stack.rsplit(";", 1)[-1]:
                continue  # waiting in epoll: idle
            stage, kind = classify_stack(stack.split(";"))
            by[stage, kind] += int(count)
            stages[stage] += int(count)
    total = sum(stages.values()) or 1
    print(f"{total} samples (non-idle), {len(paths)} file(s)")
    for stage, n in stages.most_common():
        print(f"{stage:16} {100 * n / total:5.1f} %")
        for (s, kind), m in by.most_common():
            if s == stage:
                print(f"    {kind:36} {100 * m / total:5.1f} %")


if __name__ == "__main__":
    main(sys.argv[1:])
