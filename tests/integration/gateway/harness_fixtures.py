"""pytest fixtures that start real backends and gateways (gateway_harness.py) and stop each one when
its test ends; shared by the gateway tests and the tools' tests, whose conftest.py import them."""

import pytest

from gateway_harness import Backend, Gateway


@pytest.fixture
def make_backend(tmp_path):
    started = []

    def start(name: str = "backend", **kwargs) -> Backend:
        b = Backend(tmp_path, name, **kwargs)
        started.append(b)
        return b

    yield start
    for b in started:
        b.stop()


@pytest.fixture
def make_gateway(tmp_path):
    started = []

    def start(links, **kwargs) -> Gateway:
        g = Gateway(tmp_path, links, **kwargs)
        started.append(g)
        return g

    yield start
    for g in started:
        g.stop()
