"""The import graph of the classifier (issue 17 point 1: one production path, no cycle, research apart).

Read from the sources with ``ast`` (nothing is imported), so the tests also
see imports inside functions.  The runtime package ``streams/classifier`` is
the production path; research and tooling (training, evaluation, corpus
loading, the scikit-learn engines) live in ``classifier_lab``, which may
import the runtime but never the other way round.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[4]
PKG = ROOT / "streams" / "classifier"
LAB = ROOT / "classifier_lab"
RUNTIME = {p.stem for p in PKG.glob("*.py") if p.stem != "__init__"}
#: What issue 17 moves out of the runtime: training, evaluation, corpus loading, the scikit-learn engines.
RESEARCH = {"ml", "hybrid", "train", "evaluate", "corpus"}
#: Top-level packages the runtime classifier may import from this repository (schemas: the contracts).
ALLOWED_TOP = {"streams", "schemas"}
REPO_TOP = {p.name for p in ROOT.iterdir() if p.is_dir() and (p / "__init__.py").exists()} | {"tests", "bench"}


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"))


def _imports(module: str, *, module_level_only: bool = False) -> set[str]:
    """Sibling modules of ``streams/classifier`` that ``module`` imports (relative or absolute)."""
    tree = _tree(PKG / f"{module}.py")
    nodes = tree.body if module_level_only else list(ast.walk(tree))
    out: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                out.add(node.module.split(".")[0])
            else:
                out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("streams.classifier."):
            out.add(node.module.split(".")[2])
        elif isinstance(node, ast.Import):
            out.update(a.name.split(".")[2] for a in node.names if a.name.startswith("streams.classifier."))
    return out & (RUNTIME | {"__init__"} | RESEARCH)


def _top_level_imports(path: Path) -> set[str]:
    """Absolute top-level package names a source file imports (anywhere in it)."""
    out: set[str] = set()
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            out.add(node.module.split(".")[0])
        elif isinstance(node, ast.Import):
            out.update(a.name.split(".")[0] for a in node.names)
    return out


def _graph() -> dict[str, set[str]]:
    return {m: _imports(m) for m in RUNTIME}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    found, state = [], {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                found.append(path[path.index(nxt):] + [nxt] if nxt in path else [node, nxt])
            elif nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = 2

    for n in sorted(graph):
        if n not in state:
            visit(n, [n])
    return found


def test_the_graph_reader_sees_known_edges() -> None:
    """Guard against a reader that finds nothing (and so proves nothing)."""
    g = _graph()
    assert "model" in g["compose"] and "rules" in g["engines"] and "learned" in g["rules"]
    assert "streams" in _top_level_imports(LAB / "train.py")


def test_composition_depends_only_on_the_result_types() -> None:
    g = _graph()
    assert g["compose"] == {"model", "relevance"} and g["relevance"] == set()


def test_one_production_path_without_cycles() -> None:
    """normalize/tokens (lexicon) → scan (rules) → features and the one scorer (learned) → compose."""
    g = _graph()
    assert not _cycles(g), _cycles(g)
    assert {"learned_fast", "actors"}.isdisjoint(RUNTIME)  # the second scorer and the ml helper are gone


def test_research_code_is_not_in_the_runtime_package() -> None:
    assert not RESEARCH & RUNTIME
    assert RESEARCH <= {p.stem for p in LAB.glob("*.py")}


@pytest.mark.parametrize("module", sorted(RUNTIME | {"__init__"}))
def test_runtime_module_imports_nothing_but_the_runtime_and_schemas(module: str) -> None:
    """No research, test, bench or edge code in the runtime, at import time or inside functions."""
    from_repo = _top_level_imports(PKG / f"{module}.py") & REPO_TOP
    assert from_repo <= ALLOWED_TOP, from_repo


@pytest.mark.parametrize("module", sorted(RUNTIME))
def test_runtime_module_is_within_400_lines(module: str) -> None:
    assert len((PKG / f"{module}.py").read_text(encoding="utf-8").splitlines()) <= 400


def test_the_runtime_runs_without_the_lab_or_the_checkout(tmp_path: Path) -> None:
    """Imported from elsewhere, classifying an item loads no research, test or edge module."""
    probe = ("import json, sys; import streams.classifier as c; "
             "r = c.classify('US lifts ban on gallium exports to China', 'Officials said.'); "
             "print(json.dumps([r.direction, sorted({m.split('.')[0] for m in sys.modules})]))")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=tmp_path,
                          env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    direction, loaded = json.loads(proc.stdout)
    assert direction == "deescalation"
    assert not set(loaded) & (REPO_TOP - ALLOWED_TOP), set(loaded) & REPO_TOP


def test_categories_and_directions_are_defined_once_in_schemas() -> None:
    """The product's category list and directions: schemas.models, bound (not restated) by the classifier."""
    from schemas import models
    from streams import classifier
    from streams.classifier import model

    assert classifier.CATEGORIES is models.CATEGORIES and classifier.DIRECTIONS is models.DIRECTIONS
    assert (model.ESCALATION, model.DEESCALATION, model.NEUTRAL) == models.DIRECTIONS
    for path in [*PKG.glob("*.py"), *LAB.glob("*.py")]:
        for node in ast.walk(_tree(path)):
            if isinstance(node, (ast.Assign, ast.AnnAssign)) and isinstance(node.value, ast.Tuple):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                names = {t.id for t in targets if isinstance(t, ast.Name)}
                assert not names & {"CATEGORIES", "DIRECTIONS"}, f"{path.name} restates {names}"


def test_cycle_finder_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"a"}}) and not _cycles({"a": {"b"}, "b": set()})
