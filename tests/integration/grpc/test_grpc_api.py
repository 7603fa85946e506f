"""tandem.v1.Inference against the real server (issue 14's acceptance): the same text as the HTTP
API, cancellation, gzip, status codes with the HTTP API's messages, API keys, health."""

import json
import re
import threading
import time

import grpc
import pytest
import requests
from grpc_health.v1 import health_pb2, health_pb2_grpc

from grpc_harness import ADMIN_KEY, API_KEY, MODEL_ID, GrpcServer
from byte_counter import ByteCounter

CHAT = [{"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": "Name three colours of the rainbow."}]
# SmolLM2's end-of-text, im_start and im_end: banned where a call must still be generating when the test
# acts, so that only max_tokens can end it.
NO_STOP_TOKENS = {0: -100.0, 1: -100.0, 2: -100.0}


def chat_request(pb, messages=CHAT, model=MODEL_ID, **sampling):
    return pb.ChatRequest(model=model, messages=[pb.Message(**m) for m in messages],
                          sampling=pb.Sampling(**sampling))


def http_stream_text(s, path, body):
    """The text of an HTTP streaming response (server-sent events), and its finish_reason."""
    r = requests.post(s.http.base_url + path, json={**body, "stream": True}, headers=s.http.headers(), stream=True,
                      timeout=120)
    assert r.status_code == 200, r.text
    text, finish = "", None
    for line in r.iter_lines(decode_unicode=True):
        if not line.startswith("data: ") or line == "data: [DONE]":
            continue
        choice = json.loads(line[6:])["choices"][0]
        text += choice.get("delta", {}).get("content") or choice.get("text") or ""
        finish = choice.get("finish_reason") or finish
    return text, finish


def metric(s, name):
    body = requests.get(s.http.base_url + "/metrics", headers=s.http.headers(), timeout=10).text
    m = re.search(rf"^{name} ([0-9.e+]+)$", body, re.M)
    assert m, f"{name} is not in /metrics"
    return float(m.group(1))


def error_of(call):
    with pytest.raises(grpc.RpcError) as e:
        list(call()) if not callable(getattr(call, "__call__", None)) else None
    return e.value


def failing(stream_fn):
    """Runs a call that must fail; returns the RpcError."""
    with pytest.raises(grpc.RpcError) as e:
        result = stream_fn()
        if hasattr(result, "__iter__"):
            list(result)
    return e.value


def trailer(error, key):
    return dict(error.trailing_metadata() or ()).get(key)


def test_streamed_chat_greedy_text_equals_http(gserver):
    pb = gserver.pb
    chunks = list(gserver.stub.Chat(chat_request(pb, max_tokens=40, temperature=0), metadata=gserver.auth()))
    assert len(chunks) > 2, "the reply should arrive in several chunks"
    text = "".join(c.text for c in chunks)
    last = chunks[-1]
    assert last.finish_reason in ("stop", "length") and all(c.finish_reason == "" for c in chunks[:-1])
    assert last.usage.completion_tokens > 0 and last.usage.prompt_tokens > 0
    assert last.usage.time_to_first_token_ms > 0 and last.usage.tokens_per_second > 0
    assert last.id.startswith("chatcmpl-") and last.model == MODEL_ID
    http_text, http_finish = http_stream_text(gserver, "/v1/chat/completions",
                                              {"model": MODEL_ID, "messages": CHAT, "max_tokens": 40, "temperature": 0})
    assert text == http_text and text.strip()
    assert last.finish_reason == http_finish


def test_complete_greedy_text_equals_http(gserver):
    pb = gserver.pb
    req = pb.CompleteRequest(model=MODEL_ID, prompt="Once upon a time", sampling=pb.Sampling(max_tokens=24, temperature=0))
    chunks = list(gserver.stub.Complete(req, metadata=gserver.auth()))
    text = "".join(c.text for c in chunks)
    http_text, _ = http_stream_text(gserver, "/v1/completions",
                                    {"model": MODEL_ID, "prompt": "Once upon a time", "max_tokens": 24, "temperature": 0})
    assert text == http_text and chunks[-1].usage.completion_tokens == 24 and chunks[-1].finish_reason == "length"


def test_cancelled_call_frees_its_sequence(gserver):
    pb = gserver.pb
    cancelled_before = metric(gserver, "tandem_cancelled_requests_total")
    call = gserver.stub.Chat(chat_request(pb, max_tokens=400, temperature=0, logit_bias=NO_STOP_TOKENS,
                                          messages=[{"role": "user", "content": "Write a very long story."}]),
                             metadata=gserver.auth())
    it = iter(call)
    next(it), next(it)
    assert metric(gserver, "tandem_running_sequences") == 1
    call.cancel()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and metric(gserver, "tandem_running_sequences") != 0:
        time.sleep(0.05)
    assert metric(gserver, "tandem_running_sequences") == 0
    assert metric(gserver, "tandem_cancelled_requests_total") == cancelled_before + 1
    # The server still serves.
    assert list(gserver.stub.Chat(chat_request(pb, max_tokens=2), metadata=gserver.auth()))


def test_gzip_is_accepted_and_used(gserver):
    pb = gserver.pb
    counter = ByteCounter(gserver.grpc_port)
    try:
        long_user = "Please repeat after me the words red green blue. " * 40
        req = chat_request(pb, messages=[{"role": "user", "content": long_user}], max_tokens=16, temperature=0)

        def measure(compression):
            with grpc.insecure_channel(f"127.0.0.1:{counter.port}", compression=compression) as ch:
                stub = gserver.pb_grpc.InferenceStub(ch)
                stub.ListModels(pb.ListModelsRequest(), metadata=gserver.auth())  # connection set up
                counter.reset()
                text = "".join(c.text for c in stub.Chat(req, metadata=gserver.auth()))
                time.sleep(0.2)
                up = counter.up
                counter.reset()
                stats = stub.GetStats(pb.GetStatsRequest(), metadata=gserver.auth())
                time.sleep(0.2)
                return up, counter.down, len(stats.SerializeToString()), text

        plain_up, _, _, plain_text = measure(grpc.Compression.NoCompression)
        gzip_up, stats_down, stats_size, gzip_text = measure(grpc.Compression.Gzip)
    finally:
        counter.close()
    assert plain_text == gzip_text
    # The request went gzip-compressed, and the server took it.
    assert gzip_up < plain_up - 1000, (gzip_up, plain_up)
    # Answers are compressed for a client that accepts gzip (every gRPC library by default): the
    # stats (the monitor's JSON) crossed the wire in fewer bytes than the message itself.
    assert stats_size > 2000, "monitoring should be on, with its JSON in GetStats"
    assert stats_down < stats_size * 0.7, (stats_down, stats_size)


def same_as_http(gserver, error, path, body, status):
    r = requests.post(gserver.http.base_url + path, json=body, headers=gserver.http.headers(), timeout=60)
    assert r.status_code == status, r.text
    http_error = r.json()["error"]
    assert error.details() == http_error["message"]
    assert trailer(error, "tandem-error-param") == (http_error["param"] or None)
    assert trailer(error, "tandem-error-code") == (http_error["code"] or None)


@pytest.mark.parametrize("case", ["no_messages", "temperature", "bad_role", "top_k", "max_tokens"])
def test_bad_requests_are_invalid_argument_with_the_http_message(gserver, case):
    pb = gserver.pb
    body = {"model": MODEL_ID, "messages": CHAT}
    sampling = {}
    if case == "no_messages":
        body["messages"] = []
    elif case == "temperature":
        sampling = {"temperature": 7.5}
    elif case == "bad_role":
        body["messages"] = [{"role": "wizard", "content": "hi"}]
    elif case == "top_k":
        sampling = {"top_k": -1}
    elif case == "max_tokens":
        sampling = {"max_tokens": 0}
    error = failing(lambda: gserver.stub.Chat(chat_request(pb, messages=body["messages"], **sampling),
                                              metadata=gserver.auth()))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    same_as_http(gserver, error, "/v1/chat/completions", {**body, **sampling}, 400)


def test_unknown_model_is_not_found(gserver):
    error = failing(lambda: gserver.stub.Chat(chat_request(gserver.pb, model="gpt-9"), metadata=gserver.auth()))
    assert error.code() == grpc.StatusCode.NOT_FOUND
    same_as_http(gserver, error, "/v1/chat/completions", {"model": "gpt-9", "messages": CHAT}, 404)


def test_prompt_past_the_context_is_invalid_argument(gserver):
    pb = gserver.pb
    prompt = "word " * 2000  # the test server's context is 512 tokens
    req = pb.CompleteRequest(model=MODEL_ID, prompt=prompt, sampling=pb.Sampling(max_tokens=4))
    error = failing(lambda: gserver.stub.Complete(req, metadata=gserver.auth()))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert trailer(error, "tandem-error-code") == "context_length_exceeded"
    same_as_http(gserver, error, "/v1/completions", {"model": MODEL_ID, "prompt": prompt, "max_tokens": 4}, 400)


def test_message_over_the_size_limit_is_resource_exhausted(gserver):
    pb = gserver.pb
    req = pb.CompleteRequest(model=MODEL_ID, prompt="x" * 100_000)  # limits.max_body_bytes is 64 KiB here
    error = failing(lambda: gserver.stub.Complete(req, metadata=gserver.auth()))
    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert list(gserver.stub.Chat(chat_request(pb, max_tokens=1), metadata=gserver.auth()))


def test_api_keys_are_enforced(gserver):
    pb = gserver.pb
    for metadata in ([], [("authorization", "Bearer wrong-key")], [("authorization", API_KEY)]):
        error = failing(lambda: gserver.stub.Chat(chat_request(pb, max_tokens=1), metadata=metadata))
        assert error.code() == grpc.StatusCode.UNAUTHENTICATED
        assert "authorization: Bearer" in error.details()
        error = failing(lambda: gserver.stub.ListModels(pb.ListModelsRequest(), metadata=metadata))
        assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    models = gserver.stub.ListModels(pb.ListModelsRequest(), metadata=gserver.auth())
    assert [m.id for m in models.models] == [MODEL_ID] and models.models[0].context_length == 512
    # An admin key is a user key too, as over HTTP.
    assert gserver.stub.ListModels(pb.ListModelsRequest(), metadata=gserver.auth(ADMIN_KEY)).models
    stats = gserver.stub.GetStats(pb.GetStatsRequest(), metadata=gserver.auth())
    assert stats.model_state == "ready" and stats.accepting and stats.generated_tokens > 0


def health_status(s, service=""):
    stub = health_pb2_grpc.HealthStub(s.channel)
    return stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=5).status


def test_health_serving_and_not_serving_while_unloaded(tmp_path, pb):
    s = GrpcServer(tmp_path, pb)
    pb = s.pb
    try:
        SERVING, NOT_SERVING = health_pb2.HealthCheckResponse.SERVING, health_pb2.HealthCheckResponse.NOT_SERVING
        # The health service follows the scheduler within 20 ms of GET /health, which the harness waited for.
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline and health_status(s) != SERVING:
            time.sleep(0.01)
        assert health_status(s) == SERVING and health_status(s, "tandem.v1.Inference") == SERVING

        def admin(route, body):
            r = requests.post(s.http.base_url + "/admin/model/" + route, json=body,
                              headers={"Authorization": f"Bearer {ADMIN_KEY}"}, timeout=120)
            assert r.status_code == 200, r.text

        admin("unload", {})
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and health_status(s) != NOT_SERVING:
            time.sleep(0.05)
        assert health_status(s) == NOT_SERVING and health_status(s, "tandem.v1.Inference") == NOT_SERVING
        error = failing(lambda: s.stub.Chat(chat_request(pb, max_tokens=1), metadata=s.auth()))
        assert error.code() == grpc.StatusCode.UNAVAILABLE and trailer(error, "tandem-error-code") == "model_not_loaded"
        assert s.stub.ListModels(pb.ListModelsRequest(), metadata=s.auth()).reason
        admin("load", {})
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and health_status(s) != SERVING:
            time.sleep(0.1)
        assert health_status(s) == SERVING
        assert list(s.stub.Chat(chat_request(pb, max_tokens=1), metadata=s.auth()))
    finally:
        s.stop()


def test_queue_full_is_resource_exhausted_with_retry_after(tmp_path, pb):
    # The one call allowed holds its place until the refusal is checked, then is cancelled: 4000 tokens
    # that cannot end early take seconds on any engine (300 could end before the second call came).
    s = GrpcServer(tmp_path, pb, {"server": {"max_concurrent_requests": 1}, "model": {"context_size": 4096}})
    pb = s.pb
    try:
        long_call = s.stub.Chat(chat_request(pb, max_tokens=4000, logit_bias=NO_STOP_TOKENS,
                                             messages=[{"role": "user", "content": "Tell a story."}]),
                                metadata=s.auth())
        next(iter(long_call))
        error = failing(lambda: s.stub.Chat(chat_request(pb, max_tokens=1), metadata=s.auth()))
        assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert int(trailer(error, "retry-after")) >= 1
        assert metric(s, "tandem_running_sequences") == 1, "the long call ended before the refusal was checked"
        long_call.cancel()
    finally:
        s.stop()


def test_grpc_compression_none_answers_uncompressed(tmp_path, pb):
    s = GrpcServer(tmp_path, pb, {"network": {"grpc_compression": "none"}})
    counter = ByteCounter(s.grpc_port)
    try:
        with grpc.insecure_channel(f"127.0.0.1:{counter.port}", compression=grpc.Compression.Gzip) as ch:
            stub = s.pb_grpc.InferenceStub(ch)
            stub.ListModels(s.pb.ListModelsRequest(), metadata=s.auth())
            counter.reset()
            stats = stub.GetStats(s.pb.GetStatsRequest(), metadata=s.auth())
            time.sleep(0.2)
        # Gzip requests are still accepted; the answer crossed the wire whole.
        assert counter.down >= len(stats.SerializeToString()) > 2000
    finally:
        counter.close()
        s.stop()
