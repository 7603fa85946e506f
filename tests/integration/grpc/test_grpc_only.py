"""network.protocol "grpc" alone: the gRPC listener serves chat, completions, the model list, the
stats and the health service, and no HTTP port is opened, so GET /health and /metrics do not exist
in this mode (their gRPC equivalents are grpc.health.v1 and GetStats; server/tandem.example.json
says so). The gateway side, a gRPC link to such a backend, is tests/integration/gateway/test_grpc_links.py."""

import socket

import pytest
from grpc_health.v1 import health_pb2

from grpc_harness import MODEL_ID, GrpcOnlyServer


@pytest.fixture(scope="module")
def only(tmp_path_factory, pb):
    s = GrpcOnlyServer(tmp_path_factory.mktemp("grpc-only"), pb)
    yield s
    s.stop()


def test_no_http_port_is_opened(only):
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", only.port), timeout=2).close()
    log = only.log_text()
    assert "listening for gRPC" in log and "listening on http" not in log, log


def test_chat_streams_and_completes(only):
    pb = only.pb
    req = pb.ChatRequest(model=MODEL_ID, messages=[pb.Message(role="user", content="Name a colour.")],
                         sampling=pb.Sampling(max_tokens=12, temperature=0))
    chunks = list(only.stub.Chat(req, metadata=only.auth()))
    assert "".join(c.text for c in chunks).strip()
    assert chunks[-1].finish_reason in ("stop", "length")
    assert chunks[-1].usage.completion_tokens > 0
    done = list(only.stub.Complete(pb.CompleteRequest(model=MODEL_ID, prompt="Once upon a time",
                                                      sampling=pb.Sampling(max_tokens=4, temperature=0)),
                                   metadata=only.auth()))
    assert done[-1].finish_reason == "length" and done[-1].usage.completion_tokens == 4


def test_health_and_stats_stand_in_for_get_health_and_metrics(only):
    assert only.health.Check(health_pb2.HealthCheckRequest(), timeout=5).status == \
        health_pb2.HealthCheckResponse.SERVING
    models = only.stub.ListModels(only.pb.ListModelsRequest(), metadata=only.auth())
    assert [m.id for m in models.models] == [MODEL_ID]
    list(only.stub.Complete(only.pb.CompleteRequest(model=MODEL_ID, prompt="Hello",
                                                    sampling=only.pb.Sampling(max_tokens=2)),
                            metadata=only.auth()))
    stats = only.stub.GetStats(only.pb.GetStatsRequest(), metadata=only.auth())
    assert stats.model_state == "ready" and stats.accepting and stats.generated_tokens >= 2


def test_sigterm_stops_it_cleanly(tmp_path, pb):
    s = GrpcOnlyServer(tmp_path, pb)
    assert s.stop() == 0, s.log_text()
