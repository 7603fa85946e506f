"""A client that hangs up mid-stream cancels its generation, and the server moves on."""

import json
import socket
import time

import requests

from conftest import API_KEY, MODEL_ID
from held_stream import NO_STOP_TOKENS


def metric(server, name) -> float:
    text = requests.get(server.base_url + "/metrics", headers=server.headers(), timeout=10).text
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not in /metrics")


def test_disconnect_mid_stream_cancels_the_generation(server):
    cancelled_before = metric(server, "tandem_cancelled_requests_total")
    generated_before = metric(server, "tandem_generated_tokens_total")
    body = json.dumps(
        {
            "model": MODEL_ID,
            "messages": [{"role": "user", "content": "Write a very long story about a dragon."}],
            "max_tokens": 400,
            "temperature": 0.8,
            "seed": 1,
            "logit_bias": NO_STOP_TOKENS,
            "stream": True,
        }
    ).encode()
    request = (
        f"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {API_KEY}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    with socket.create_connection(("127.0.0.1", server.port), timeout=60) as s:
        s.sendall(request)
        received = b""
        while received.count(b"data: ") < 3:
            data = s.recv(4096)
            assert data, "the server closed the stream early"
            received += data
        assert received.startswith(b"HTTP/1.1 200")
    # The socket is closed: the generation must stop well before 400 tokens.
    deadline = time.monotonic() + 30
    while metric(server, "tandem_cancelled_requests_total") <= cancelled_before:
        assert time.monotonic() < deadline, "the generation was not cancelled"
        time.sleep(0.1)
    # The counter is bumped just before the sequence leaves the running set: wait for both.
    while metric(server, "tandem_running_sequences") != 0:
        assert time.monotonic() < deadline, "the cancelled generation still runs"
        time.sleep(0.1)
    assert metric(server, "tandem_generated_tokens_total") - generated_before < 400
    # And the next request is served at once.
    r = requests.post(
        server.base_url + "/v1/completions",
        headers=server.headers(),
        json={"model": MODEL_ID, "prompt": "Hi", "max_tokens": 2},
        timeout=30,
    )
    assert r.status_code == 200
