"""The developer environment: what runs the product on one machine, never part of a deployment.

The embedded Apache Kafka broker (:mod:`devenv.localkafka`), the local schema
registry (:mod:`devenv.registry`) and the process helpers both use
(:mod:`devenv.procs`). They live apart so production code cannot lean on them:
``streams/``, ``connectors/``, ``schemas/``, ``dashboard/`` and the runtime part
of ``tension/`` never import this package; only the commands that start a local
environment (``tension kafka``, ``tension registry``, ``tension demo``) load it,
inside the command (tests/unit/test_import_graph.py checks both rules).
"""
