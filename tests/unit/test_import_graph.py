"""The direction of every import, checked on the source (ast: nothing is imported or run).

The layout promises (README, "folder"): ``schemas/`` is the ground floor;
``streams/`` and ``connectors/`` import ``schemas/`` and never each other, the
dashboard or the developer environment; nothing that runs in production imports
the tests, the research code or the CLI; and ``devenv/`` (embedded Kafka, local
registry) is loaded only inside the commands that start a local environment, so
importing any runtime module never loads it.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("schemas", "streams", "connectors", "dashboard", "devenv", "tension")
#: code that is never part of a running product
OFFLINE = ("tests", "bench", "classifier_lab")
#: the CLI's offline classifier tools (`tension classify`, `tension evaluate`) read the corpus and the
#: research engines: the one module of the edge allowed to import classifier_lab, inside its commands
#: only (test_cli_start_loads_no_research_code below)
LAB_LOADERS = ("tension/cli/classify_cmd.py",)
#: where a function-level import of devenv is allowed: the commands that start a local environment
DEVENV_LOADERS = ("tension/wiring.py", "tension/cli/kafka_cmd.py", "tension/cli/registry_cmd.py",
                  "tension/cli/demo_cmd.py")


@dataclass(frozen=True)
class Import:
    source: str  # the importing file, relative to the checkout
    line: int
    module: str  # the absolute module name imported
    deferred: bool  # inside a function or an ``if TYPE_CHECKING:`` block: not run on import

    @property
    def top(self) -> str:
        return self.module.split(".")[0]


def _module_name(rel: Path) -> str:
    parts = list(rel.with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(source: str, rel: str) -> list[Import]:
    """Every import statement of one file, relative ones resolved against its package."""
    tree = ast.parse(source, rel)
    package = _module_name(Path(rel)).split(".")
    if not rel.endswith("__init__.py"):
        package = package[:-1]
    found: list[Import] = []

    def visit(node: ast.AST, deferred: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inner = deferred or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                for stmt in child.body:
                    visit(ast.Module(body=[stmt], type_ignores=[]), True)
                for stmt in child.orelse:
                    visit(ast.Module(body=[stmt], type_ignores=[]), deferred)
                continue
            if isinstance(child, ast.Import):
                found.extend(Import(rel, child.lineno, a.name, deferred) for a in child.names)
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    base = package[: len(package) - child.level + 1]
                    module = ".".join([*base, *([child.module] if child.module else [])])
                else:
                    module = child.module or ""
                found.append(Import(rel, child.lineno, module, deferred))
            visit(child, inner)

    visit(tree, False)
    return found


def _all_imports() -> list[Import]:
    out: list[Import] = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "node_modules" in path.parts:
                continue
            rel = path.relative_to(ROOT).as_posix()
            out.extend(imports_of(path.read_text(encoding="utf-8"), rel))
    return out


IMPORTS = _all_imports()


def _violations(imports: list[Import]) -> list[str]:
    """Every import that breaks a rule of the layout, as ``file:line imports module (rule)``."""
    bad = []
    for imp in imports:
        where = imp.source.split("/")[0]
        in_cli = imp.source.startswith("tension/cli/") or imp.source == "tension/__main__.py"

        def no(rule: str) -> None:
            bad.append(f"{imp.source}:{imp.line} imports {imp.module} ({rule})")

        if imp.top in OFFLINE and not (imp.top == "classifier_lab" and imp.source in LAB_LOADERS):
            no("runtime code never imports the tests or the research code")
        if where == "schemas" and imp.top in PACKAGES and imp.top != "schemas":
            no("schemas/ is the ground floor: it imports nothing of the product")
        if where in ("streams", "connectors"):
            other = {"streams": "connectors", "connectors": "streams"}[where]
            if imp.top in (other, "dashboard", "devenv", "tension"):
                no(f"{where}/ imports only schemas/ of the product")
        if where == "dashboard" and imp.top in ("devenv", "tension"):
            no("the dashboard takes plain arguments: it imports neither the edge nor the developer environment")
        if where == "devenv" and imp.top in ("streams", "connectors", "dashboard", "tension"):
            no("the developer environment takes plain arguments from the edge")
        if where == "tension" and not in_cli and imp.module.startswith("tension.cli"):
            no("nothing below the CLI imports the CLI")
        if where == "tension" and imp.top == "devenv" and (not imp.deferred or imp.source not in DEVENV_LOADERS):
            no(f"devenv is loaded only inside {', '.join(DEVENV_LOADERS)}")
    return bad


def test_the_checker_sees_every_file_and_their_imports() -> None:
    sources = {imp.source for imp in IMPORTS}
    for package in PACKAGES:
        assert any(s.startswith(package + "/") for s in sources), package
    assert any(i.source == "connectors/sinks/rows.py" and i.module == "schemas.stored" for i in IMPORTS)
    assert any(i.source == "tension/wiring.py" and i.top == "devenv" and i.deferred for i in IMPORTS)


@pytest.mark.parametrize(("rel", "code", "rule"), [
    ("streams/x.py", "from connectors.sinks import base", "imports only schemas"),
    ("connectors/x.py", "import streams.index", "imports only schemas"),
    ("connectors/x.py", "def f():\n    from dashboard import store", "imports only schemas"),
    ("streams/x.py", "from devenv.procs import alive", "imports only schemas"),
    ("schemas/x.py", "from streams import config", "ground floor"),
    ("tension/settings.py", "from tests.helpers import unique", "research code"),
    ("tension/demo.py", "from tension.cli.kafka_cmd import x", "below the CLI"),
    ("tension/cli/worker_cmd.py", "from devenv.localkafka import LocalCluster", "devenv is loaded only"),
    ("tension/cli/kafka_cmd.py", "from devenv.localkafka import LocalCluster", "devenv is loaded only"),
    ("dashboard/store.py", "from tension.settings import Settings", "plain arguments"),
    ("streams/x/y.py", "from ...connectors import sinks", "imports only schemas"),
])
def test_the_checker_refuses_each_kind_of_wrong_import(rel: str, code: str, rule: str) -> None:
    [violation] = _violations(imports_of(code, rel))
    assert rule in violation


@pytest.mark.parametrize(("rel", "code"), [
    ("tension/cli/kafka_cmd.py", "def up():\n    from devenv.localkafka import LocalKafkaError"),
    ("tension/cli/kafka_cmd.py", "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from devenv import procs"),
    ("tension/cli/demo_cmd.py", "from tension.cli import configure_logging"),
    ("streams/agents/x.py", "from schemas.serde import TopicSerdes\nfrom . import outbox"),
])
def test_the_checker_allows_what_the_layout_allows(rel: str, code: str) -> None:
    assert _violations(imports_of(code, rel)) == []


def test_every_import_of_the_tree_points_the_right_way() -> None:
    assert _violations(IMPORTS) == []


def test_cli_start_loads_no_research_code(tmp_path: Path) -> None:
    """Every `tension` process registers the classify commands: loading the CLI must not load the lab."""
    probe = ("import sys; import tension.cli as c; c._register(); "
             "print(sorted(m for m in sys.modules if m.split('.')[0] in ('classifier_lab', 'sklearn')))")
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=tmp_path,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]", proc.stdout
