"""Fixtures of the gRPC front door's tests (grpc_harness.py has the harness)."""

import pytest

from grpc_harness import GrpcServer, generate_stubs


@pytest.fixture(scope="session")
def pb(tmp_path_factory):
    """(inference_pb2, inference_pb2_grpc), generated from proto/tandem/v1/inference.proto now."""
    return generate_stubs(tmp_path_factory.mktemp("stubs"))


@pytest.fixture(scope="module")
def gserver(tmp_path_factory, pb):
    s = GrpcServer(tmp_path_factory.mktemp("grpc"), pb)
    yield s
    s.stop()
