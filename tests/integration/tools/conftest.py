"""Fixtures for the tools' tests (`tandem bench`, `tandem doctor`): real backends and gateways on
loopback, started and stopped by the gateway tests' harness (tests/integration/gateway), and a
folder for what a person may want to look at afterwards (reports, screenshots).
"""

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "tests/integration/gateway"))

from harness_fixtures import make_backend, make_gateway  # noqa: E402,F401 (fixtures)


@pytest.fixture
def output_dir(request) -> Path:
    """build/test-output/tools/<test name> (or under $TANDEM_TEST_OUTPUT): kept after the run."""
    base = Path(os.environ.get("TANDEM_TEST_OUTPUT", ROOT / "build/test-output"))
    path = base / "tools" / request.node.name
    path.mkdir(parents=True, exist_ok=True)
    return path
