"""Under CI, every tool the suite needs is installed, so no test can skip for want of one.

Tests that need Chromium, PostgreSQL or kcat skip on a developer machine without
them; `.ci/run` installs them, and this check turns a missing install into a
failure there instead of a silent skip.
"""

from __future__ import annotations

import glob
import os
import shutil

import pytest

pytestmark = pytest.mark.skipif(os.environ.get("CI") != "true", reason="checks the CI machine only")


@pytest.mark.parametrize("tool", ["java", "mvn", "kcat"])
def test_tool_on_path(tool: str) -> None:
    assert shutil.which(tool), f"{tool} missing: .ci/run should have installed it"


def test_chromium() -> None:
    assert os.path.exists("/usr/bin/chromium"), "chromium missing: .ci/run should have installed it"


def test_postgresql_server_binaries() -> None:
    assert glob.glob("/usr/lib/postgresql/*/bin/initdb"), "postgresql missing: .ci/run should have installed it"
