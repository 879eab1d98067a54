"""`python -m tension` runs the CLI (used by tests and by processes the demo spawns)."""

from tension.cli import main

main()
