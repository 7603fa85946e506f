"""Fixtures for the gateway tests: real backends and a real gateway, each stopped when its test ends.

`make_backend` starts `tandem serve` on stories260K (or another model); `make_gateway` starts
`tandem gateway` in front of given links; `make_proxy` starts a latency-injecting TCP proxy
(latency_proxy.py). All of them listen on loopback only, on free ports.
"""

import pytest

import gateway_harness
from harness_fixtures import make_backend, make_gateway  # noqa: F401 (fixtures)
from latency_proxy import LatencyProxy

# The failover tests run with HTTP links and again with gRPC links (issue 14): same tests, the
# backends serve both protocols and the gateway's links speak gRPC.
BOTH_LINK_PROTOCOLS = {"test_kill_backend", "test_all_down", "test_slow_link"}


def pytest_generate_tests(metafunc):
    if metafunc.module.__name__.rsplit(".", 1)[-1] in BOTH_LINK_PROTOCOLS:
        metafunc.fixturenames.append("link_protocol")
        metafunc.parametrize("link_protocol", ["http", "grpc"])


@pytest.fixture(autouse=True)
def _links_speak(request):
    callspec = getattr(request.node, "callspec", None)
    gateway_harness.LINK_PROTOCOL["value"] = callspec.params.get("link_protocol", "http") if callspec else "http"
    yield
    gateway_harness.LINK_PROTOCOL["value"] = "http"


@pytest.fixture
def make_proxy():
    started = []

    def start(target_port: int, **kwargs) -> LatencyProxy:
        p = LatencyProxy(target_port, **kwargs)
        started.append(p)
        return p

    yield start
    for p in started:
        p.close()


@pytest.fixture
def pair(make_backend):
    """Two stories260K backends: primary and backup."""
    return make_backend("primary"), make_backend("backup")


@pytest.fixture
def gateway(pair, make_gateway):
    """A gateway in front of `pair`, primary first."""
    primary, backup = pair
    return make_gateway([("primary", primary.url), ("backup", backup.url)])
