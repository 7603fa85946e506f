"""Bad input against the real server: each gets a 4xx in OpenAI's error shape, and the server keeps
serving. Raw sockets cover what HTTP libraries refuse to send."""

import gzip
import json
import socket

import pytest
import requests

from conftest import API_KEY, MODEL_ID

CHAT = "/v1/chat/completions"


def post(server, path, body, headers=None, key=True):
    h = {"Content-Type": "application/json"}
    if key:
        h["Authorization"] = f"Bearer {API_KEY}"
    h.update(headers or {})
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return requests.post(server.base_url + path, data=data, headers=h, timeout=60)


def assert_error(r, status, param=None, code=None):
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert set(err) == {"message", "type", "param", "code"}
    assert isinstance(err["message"], str) and err["message"]
    if param is not None:
        assert err["param"] == param
    if code is not None:
        assert err["code"] == code
    return err


def chat_body(**extra):
    return {"model": MODEL_ID, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 2, **extra}


@pytest.fixture(autouse=True)
def still_serving(server):
    yield
    assert requests.get(server.base_url + "/health", timeout=10).status_code == 200


def test_malformed_json(server):
    assert_error(post(server, CHAT, '{"model": "x", "messages": ['), 400, code="invalid_json")
    assert_error(post(server, CHAT, ""), 400, code="invalid_json")
    assert_error(post(server, CHAT, "[1, 2, 3]"), 400)
    assert_error(post(server, CHAT, "[" * 10000 + "]" * 10000), 400)


def test_invalid_utf8(server):
    body = b'{"model": "' + MODEL_ID.encode() + b'", "messages": [{"role": "user", "content": "\xff\xfe"}]}'
    assert_error(post(server, CHAT, body), 400, code="invalid_utf8")


@pytest.mark.parametrize(
    "extra,param",
    [
        ({"max_tokens": "10"}, "max_tokens"),
        ({"max_tokens": -1}, "max_tokens"),
        ({"max_tokens": 0}, "max_tokens"),
        ({"max_tokens": 10**12}, "max_tokens"),
        ({"max_tokens": 100000}, "max_tokens"),  # more than the context: refused by the scheduler
        ({"temperature": "hot"}, "temperature"),
        ({"temperature": -1}, "temperature"),
        ({"top_p": 2}, "top_p"),
        ({"stream": "yes"}, "stream"),
        ({"stop": 5}, "stop"),
        ({"n": 0}, "n"),
        ({"n": 17}, "n"),  # more choices than a request may ask for (16)
        ({"logit_bias": {"x": 1}}, "logit_bias"),
        ({"logit_bias": {"99999999": 1}}, "logit_bias"),  # past the vocabulary
        ({"seed": "seven"}, "seed"),
        ({"frobnicate": 1}, "frobnicate"),
        ({"messages": "hi"}, "messages"),
        ({"messages": []}, "messages"),
        ({"messages": [{"role": "user"}]}, "messages[0].content"),
        ({"messages": [{"role": "robot", "content": "x"}]}, "messages[0].role"),
    ],
)
def test_wrong_types_and_ranges(server, extra, param):
    assert_error(post(server, CHAT, chat_body(**extra)), 400, param=param)


def test_missing_fields(server):
    assert_error(post(server, CHAT, {"messages": [{"role": "user", "content": "x"}]}), 400, param="model")
    assert_error(post(server, CHAT, {"model": MODEL_ID}), 400, param="messages")
    assert_error(post(server, "/v1/completions", {"model": MODEL_ID}), 400, param="prompt")


def test_unknown_model(server):
    assert_error(post(server, CHAT, chat_body(model="no-such-model")), 404, param="model", code="model_not_found")


def test_prompt_past_the_context(server):
    long_prompt = "hello " * 2000  # the test server's context is 512 tokens
    r = post(server, "/v1/completions", {"model": MODEL_ID, "prompt": long_prompt, "max_tokens": 2})
    assert_error(r, 400, code="context_length_exceeded")
    r = post(server, CHAT, chat_body(messages=[{"role": "user", "content": long_prompt}], stream=True))
    assert_error(r, 400, code="context_length_exceeded")


def test_oversize_body(server):
    r = post(server, CHAT, chat_body(messages=[{"role": "user", "content": "x" * 100_000}]))
    assert_error(r, 413)


def test_api_keys(server):
    assert_error(post(server, CHAT, chat_body(), key=False), 401, code="invalid_api_key")
    assert_error(post(server, CHAT, chat_body(), key=False, headers={"Authorization": "Bearer nope"}), 401)
    assert_error(post(server, CHAT, chat_body(), key=False, headers={"Authorization": API_KEY}), 401)
    r = requests.get(server.base_url + "/v1/models", timeout=10)
    assert r.status_code == 401
    assert requests.get(server.base_url + "/metrics", timeout=10).status_code == 401
    assert requests.post(server.base_url + "/admin/model/unload", timeout=10).status_code == 401
    assert requests.get(server.base_url + "/health", timeout=10).status_code == 200


def test_gzip_request_and_response(server):
    body = gzip.compress(json.dumps(chat_body()).encode())
    r = post(server, CHAT, body, headers={"Content-Encoding": "gzip"})
    assert r.status_code == 200, r.text
    assert r.json()["object"] == "chat.completion"
    bomb = gzip.compress(json.dumps(chat_body(messages=[{"role": "user", "content": "a" * 1_000_000}])).encode())
    assert len(bomb) < 64 * 1024
    assert_error(post(server, CHAT, bomb, headers={"Content-Encoding": "gzip"}), 413)
    assert_error(post(server, CHAT, b"not gzip", headers={"Content-Encoding": "gzip"}), 400)
    # /metrics is larger than the gzip threshold; requests decodes it transparently.
    m = requests.get(server.base_url + "/metrics", headers=server.headers(**{"Accept-Encoding": "gzip"}), timeout=10)
    assert m.headers.get("Content-Encoding") == "gzip"
    assert "tandem_http_requests_total" in m.text


def test_routes_and_methods(server):
    r = requests.get(server.base_url + "/v1/nothing", headers=server.headers(), timeout=10)
    assert_error(r, 404)
    r = requests.get(server.base_url + CHAT, headers=server.headers(), timeout=10)
    assert_error(r, 405)
    assert r.headers["Allow"] == "POST"


def test_metrics_text(server):
    post(server, CHAT, chat_body())
    text = requests.get(server.base_url + "/metrics", headers=server.headers(), timeout=10).text
    for family in [
        'tandem_http_requests_total{route="/v1/chat/completions",status="200"}',
        'tandem_http_requests_total{route="/v1/chat/completions",status="400"}',
        "tandem_queue_depth",
        "tandem_running_sequences",
        "tandem_prompt_tokens_total",
        "tandem_generated_tokens_total",
        "tandem_time_to_first_token_seconds_bucket",
        "tandem_inter_token_latency_seconds_bucket",
        "tandem_request_duration_seconds_count",
        "tandem_process_resident_memory_bytes",
        "tandem_model_loaded 1",
    ]:
        assert family in text, family


def raw_exchange(server, payload: bytes, read_timeout=10) -> bytes:
    with socket.create_connection(("127.0.0.1", server.port), timeout=read_timeout) as s:
        s.sendall(payload)
        chunks = []
        while True:
            try:
                data = s.recv(65536)
            except socket.timeout:
                break
            if not data:
                break
            chunks.append(data)
            if b"\r\n\r\n" in b"".join(chunks) and b"Connection: close" not in b"".join(chunks):
                break
        return b"".join(chunks)


def test_malformed_http_on_a_raw_socket(server):
    reply = raw_exchange(server, b"GARBAGE\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 400")
    reply = raw_exchange(server, b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 400")


def test_keep_alive_on_a_raw_socket(server):
    request = (
        f"GET /v1/models HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {API_KEY}\r\n\r\n".encode()
    )
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
        for _ in range(3):
            s.sendall(request)
            head = b""
            while b"\r\n\r\n" not in head:
                head += s.recv(1)
            assert head.startswith(b"HTTP/1.1 200")
            length = int([l for l in head.split(b"\r\n") if l.lower().startswith(b"content-length")][0].split(b":")[1])
            body = b""
            while len(body) < length:
                body += s.recv(length - len(body))
            assert json.loads(body)["data"][0]["id"] == MODEL_ID
