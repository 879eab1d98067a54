"""The dashboard: one page and a small JSON API over the sink's aggregated tables.

Modules: ``store`` (read-only queries behind one interface, ``store_sqlite`` and
``store_postgres`` back ends), ``params`` (query validation), ``api`` (JSON
handlers and error mapping), ``page`` (the static page), ``server`` (the
aiohttp application) and ``synthetic`` (a made-up store for trying and
measuring the page). Run it with ``tension dashboard``; docs/dashboard.md.
"""
