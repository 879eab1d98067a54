"""Build hook: compiles the classifier's hot modules with mypyc.

Why: the default engine (lexicon rules + learned layer) is plain, typed
Python; compiled to C by mypyc it runs about twice as fast, which is what
carries it past the speed target on one core (bench/classifier.py).  The
Python sources stay the reference: the compiled modules are built from them
unchanged, and ``streams.classifier.native.describe()`` tells which one is loaded.

Set ``TENSION_PURE_PYTHON=1`` to install without compiling (no C compiler at
hand); everything works the same, only slower.  All other metadata lives in
pyproject.toml.
"""

from __future__ import annotations

import os

from setuptools import setup

#: The hot path of the default engine, in dependency order (see docs/classifier.md).
NATIVE_MODULES = [
    "streams/classifier/model.py",
    "streams/classifier/lexicon.py",
    "streams/classifier/taxonomy.py",
    "streams/classifier/evidence.py",
    "streams/classifier/learned.py",
    "streams/classifier/rules.py",
    "streams/classifier/relevance.py",
    "streams/classifier/compose.py",
]


def _ext_modules() -> list:
    if os.environ.get("TENSION_PURE_PYTHON", "").strip() not in ("", "0"):
        return []
    from mypyc.build import mypycify

    # One shared library for the group, kept inside the package (not at the
    # top level, where an editable install would not find it).
    # Only these modules are type-checked strictly: the rest of the project
    # (and its third-party imports, absent from the isolated build) is read
    # silently, for types only.
    args = ["--ignore-missing-imports", "--follow-imports=silent", *NATIVE_MODULES]
    return mypycify(args, opt_level="3", group_name="streams.classifier._native")


setup(ext_modules=_ext_modules())
