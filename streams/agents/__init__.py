"""Faust agents, one module per stage; each exposes ``register(app, topics, tables, cfg)``."""
