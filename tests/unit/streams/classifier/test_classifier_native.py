"""The compiled classifier is built from the current sources, and is what runs.

setup.py compiles the default engine's hot modules with mypyc; a build older
than its sources would silently run old code, so that is a failure here.
Under CI the modules must be compiled: the speed target depends on it.
"""

from __future__ import annotations

import ast
import os
from pathlib import Path

import pytest

from streams.classifier import native
from streams.classifier.native import NATIVE_MODULES, native_status

ROOT = Path(__file__).resolve().parents[4]


def test_setup_compiles_exactly_the_listed_modules() -> None:
    tree = ast.parse((ROOT / "setup.py").read_text())
    listed = next(node.value for node in ast.walk(tree)
                  if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "NATIVE_MODULES")
    paths = ast.literal_eval(listed)
    assert [Path(p).stem for p in paths] == list(NATIVE_MODULES)


def test_no_compiled_module_is_stale() -> None:
    stale = [m.path for m in native_status() if m.stale]
    assert not stale, f"compiled from older sources (run `make native`): {stale}"


@pytest.mark.skipif(os.environ.get("CI") != "true", reason="a developer may run pure Python")
def test_compiled_under_ci() -> None:
    assert all(m.compiled for m in native_status()), native.describe()


def test_describe_names_stale_modules(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = [native.ModuleBuild("rules", True, True, "rules.so"),
            native.ModuleBuild("model", True, False, "model.so")]
    monkeypatch.setattr(native, "native_status", lambda: fake)
    assert "STALE for rules" in native.describe()
