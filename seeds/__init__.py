"""The founding article and our labelled corpus (docs/corpus.md), shipped as package data.

A package only so that an installed wheel carries them: ``tension demo`` publishes
this folder by default (``PROJECT_ROOT / "seeds"`` is the checkout's folder or,
installed, this package's). Nothing imports it; the readers skip this file.
"""
