"""The edge: settings read once (``settings``), mapped to the libraries' plain configs (``wiring``),
and the ``tension`` command line (``cli``) with its exit codes (``exits``), fail-fast checks
(``preflight``), Kafka administration (``admin``, ``access``, ``lag``), logging and metrics
endpoints (``logs``, ``observe``) and the demo. Nothing below the edge imports it.
"""
