"""Gateway links that speak gRPC (issue 14) to a backend that serves gRPC alone (network.protocol
"grpc": no HTTP port at all): requests pass; each wait on the link is bounded by
timeouts.upstream_seconds, so a generation that keeps sending outlives it and a stalled one is cut;
and a gateway stopped by SIGTERM during streamed gRPC requests exits cleanly with status 0."""

import json
import signal
import socket
import threading
import time

import pytest
import requests

from gateway_harness import (SMOLLM2, SMOLLM2_CONTEXT, SMOLLM2_ID, SMOLLM2_NO_STOP, STORIES_ID, grpc_health,
                             mark_grpc_url, wait_until)

IDLE_S = 1  # timeouts.upstream_seconds in these tests
# A raw completion the demo model continues for its whole max_tokens (greedy text can differ between
# machines, and could reach an end token).
LONG_BODY = {"model": SMOLLM2_ID, "prompt": "Once upon a time", "temperature": 0, "logit_bias": SMOLLM2_NO_STOP}
# The demo model's backends take its whole training context, so that tokens_for() can ask for many
# seconds of generation from a fast engine: with a 2048-token context its cap of 1900 tokens lasted
# under 2.5 s at 800 tokens/s, less than the 2 s cap below plus the stream's start.
LONG_CONTEXT = SMOLLM2_CONTEXT
LONG_BACKEND = {"model": SMOLLM2, "context": LONG_CONTEXT, "max_batch_size": 4}


def stream(gw, max_tokens: int, on_first=None, timeout: float = 120) -> tuple[str, float]:
    """One streamed completion through the gateway: (its text, seconds from sending to the end).
    `on_first` is called when the first text event arrives."""
    sent = time.monotonic()
    text = ""
    with requests.post(gw.url + "/v1/completions", headers=gw.headers(), stream=True, timeout=timeout,
                       json=dict(LONG_BODY, max_tokens=max_tokens, stream=True)) as r:
        assert r.status_code == 200, r.text
        for line in r.iter_lines(decode_unicode=True):
            text += line + "\n"
            if on_first and '"text"' in line:
                on_first()
                on_first = None
    return text, time.monotonic() - sent


def tokens_for(gw, seconds: float) -> int:
    """max_tokens that keep the demo model generating for about `seconds` on this (shared) machine."""
    started = time.monotonic()
    r = gw.complete(**dict(LONG_BODY, max_tokens=32), timeout=60)
    assert r.status_code == 200, r.text
    return max(64, min(LONG_CONTEXT - 100, int(32 * seconds / (time.monotonic() - started))))


def test_a_grpc_only_backend_opens_no_http_port_and_serves_through_a_grpc_link(make_backend, make_gateway):
    backend = make_backend("grpc-only", protocol="grpc")
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", backend.port), timeout=2).close()
    assert grpc_health(backend.grpc_port) == 1  # SERVING

    gw = make_gateway([("primary", backend.url)])
    wait_until(lambda: gw.link("primary")["state"] == "healthy", 30, what="the gRPC link healthy")
    r = gw.complete(max_tokens=8)
    assert r.status_code == 200, r.text
    assert r.headers["X-Tandem-Link"] == "primary"
    assert r.json()["usage"]["completion_tokens"] > 0

    chat = {"model": STORIES_ID, "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 8, "stream": True}
    with requests.post(gw.url + "/v1/chat/completions", headers=gw.headers(), json=chat, stream=True,
                       timeout=30) as s:
        assert s.status_code == 200
        events = [line for line in s.iter_lines(decode_unicode=True) if line.startswith("data: ")]
    assert events[-1] == "data: [DONE]"
    assert json.loads(events[-2][6:])["choices"][0]["finish_reason"] in ("length", "stop")

    models = requests.get(gw.url + "/v1/models", headers=gw.headers(), timeout=10).json()
    assert [m["id"] for m in models["data"]] == [STORIES_ID]


def test_a_generation_longer_than_the_idle_timeout_is_not_cut(make_backend, make_gateway):
    backend = make_backend("primary", protocol="grpc", **LONG_BACKEND)
    gw = make_gateway([("primary", backend.url)], extra={"timeouts": {"upstream_seconds": IDLE_S}})
    max_tokens = tokens_for(gw, 4 * IDLE_S)
    text, took = stream(gw, max_tokens)
    assert '"error"' not in text, text[-600:]
    assert text.rstrip().endswith("data: [DONE]"), text[-600:]
    assert took > 2 * IDLE_S, f"{max_tokens} tokens took only {took:.1f} s: the test proves nothing"
    assert text.count('"text"') >= max_tokens * 0.9, "the stream was cut short"


@pytest.mark.parametrize("protocol", ["http", "grpc"])
def test_timeouts_upstream_total_seconds_caps_a_whole_response_on_either_kind_of_link(make_backend, make_gateway,
                                                                                       protocol):
    backend = make_backend("primary", protocol=protocol if protocol == "grpc" else None, **LONG_BACKEND)
    gw = make_gateway([("primary", backend.url)], extra={"timeouts": {"upstream_total_seconds": 2 * IDLE_S}})
    max_tokens = tokens_for(gw, 20)
    text, took = stream(gw, max_tokens)
    assert "data: [DONE]" not in text
    assert '"error"' in text and "timeouts.upstream_total_seconds" in text, text[-600:]
    assert took < 2 * IDLE_S + 5, f"a capped stream took {took:.1f} s"


def test_a_stalled_link_is_cut_by_the_idle_timeout(make_backend, make_gateway):
    backend = make_backend("primary", protocol="grpc", **LONG_BACKEND)
    # Slow probes, so that the link stays up and the request's own timeout is what ends it.
    gw = make_gateway([("primary", backend.url)], extra={"timeouts": {"upstream_seconds": IDLE_S}},
                      failover={"probe_interval_ms": 5000, "probe_timeout_ms": 4000})
    max_tokens = tokens_for(gw, 20)
    stalled = []

    def stall():  # the backend stops answering mid-stream, its connection still open
        backend.proc.send_signal(signal.SIGSTOP)
        stalled.append(time.monotonic())

    try:
        text, _ = stream(gw, max_tokens, on_first=stall, timeout=60)
        ended = time.monotonic()
    finally:
        backend.proc.send_signal(signal.SIGCONT)
    assert stalled, text
    assert "data: [DONE]" not in text
    assert '"error"' in text and "timeouts.upstream_seconds" in text, text[-600:]
    assert ended - stalled[0] < IDLE_S + 5, f"the stalled stream ended {ended - stalled[0]:.1f} s after the stall"

    # Stalled before the first byte: the request fails within the timeout rather than hanging.
    backend.proc.send_signal(signal.SIGSTOP)
    try:
        sent = time.monotonic()
        r = gw.complete(**dict(LONG_BODY, max_tokens=8), timeout=30)
        took = time.monotonic() - sent
    finally:
        backend.proc.send_signal(signal.SIGCONT)
    assert r.status_code in (502, 503), r.text
    assert took < IDLE_S + 5, f"the request to a stalled link took {took:.1f} s"
    assert "timeouts.upstream_seconds" in r.text, r.text


def test_sigterm_during_grpc_streams_exits_cleanly(make_backend, make_gateway):
    """The gRPC calls are cancelled and waited for before the gateway's I/O context stops: their
    callbacks run on gRPC's threads and would otherwise post to a destroyed context."""
    backend = make_backend("primary", protocol="grpc", **LONG_BACKEND)
    gw = make_gateway([("primary", backend.url)], extra={"timeouts": {"shutdown_grace_seconds": 0}})
    max_tokens = tokens_for(gw, 30)
    clients = 4
    first = threading.Barrier(clients + 1, timeout=60)
    ended = []

    def client():
        try:
            stream(gw, max_tokens, on_first=lambda: first.wait(), timeout=60)
        except (requests.RequestException, threading.BrokenBarrierError):
            pass  # the gateway went away mid-stream: expected
        ended.append(time.monotonic())

    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    for t in threads:
        t.start()
    first.wait()  # every stream has text
    gw.proc.send_signal(signal.SIGTERM)
    code = gw.proc.wait(timeout=30)
    log = gw.log_text()
    assert code == 0, f"the gateway exited with {code}\n{log}"
    assert "stopped" in log, log
    for t in threads:
        t.join(timeout=30)
    assert len(ended) == clients, "a client hung after the gateway stopped"
    # The backend cancelled the generations and serves on.
    assert grpc_health(backend.grpc_port) == 1


def test_sigterm_with_slow_grpc_probes_in_flight_exits_cleanly(make_backend, make_gateway, make_proxy):
    """Probes of a slow gRPC link (+250 ms each way) are in flight at any moment: at shutdown they
    are cancelled and waited for, not left to call back into a destroyed I/O context."""
    backend = make_backend("primary", protocol="grpc")
    proxy = make_proxy(backend.grpc_port)
    gw = make_gateway([("primary", mark_grpc_url(f"http://127.0.0.1:{proxy.port}"))],
                      extra={"timeouts": {"shutdown_grace_seconds": 0}})
    proxy.set_delay(250)
    time.sleep(1.5)  # probes every 100 ms, each taking 500 ms: several in flight
    gw.proc.send_signal(signal.SIGTERM)
    code = gw.proc.wait(timeout=30)
    assert code == 0, f"the gateway exited with {code}\n{gw.log_text()}"
    assert "stopped" in gw.log_text()
