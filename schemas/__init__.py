"""The ground floor: every contract the other packages share, importing nothing of the product.

Avro schemas and their pydantic models (``models``, ``catalog``, ``compat``),
the wire formats (``serde``, ``registry``), how a Kafka client connects
(``connection``), the dead-letter record (``deadletters``) and the stored-row
tables (``stored``). ``streams/``, ``connectors/`` and ``dashboard/`` import
these instead of restating them (tests/unit/test_import_graph.py).
"""
