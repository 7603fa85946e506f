"""A client that reads a long stream slowly does not make the gateway buffer the link's output without
bound: the stream stops reading its link (HTTP) or asking for the next message (gRPC) while the client
has more than 64 KiB pending, so tandem_gateway_stream_buffered_bytes stays near that, and the reply
still arrives whole. No timing is asserted: the client simply reads nothing until the backend has
generated the whole reply, then reads it all.

Loopback sockets grow their send buffers to megabytes, so only a reply larger than that reaches the
gateway's own queue: the requests ask for 20 log probabilities per token (~3 MB; an HTTP link's stream
held ~400 kB before the bound), which gRPC links carry too.

A gRPC call can also end while its client is paused (its total deadline, a reset link): no read is
pending then, and the read that resumes the stream must find the call still there (a hold keeps it).
The client then gets what was generated and the error event, and the gateway lets the call go."""

import json
import re
import socket
import time

import pytest
import requests

import gateway_harness
from gateway_harness import GATEWAY_KEY, NO_EOS, STORIES_ID, wait_until

LIMIT = 64 * 1024  # gateway/proxy/proxy.h's kClientPendingLimit
BOUND = LIMIT + 64 * 1024  # the limit, plus what was in flight when the stream paused
MAX_TOKENS = 2000  # ~340 kB of events: well over the bound


@pytest.fixture(params=["http", "grpc"])
def links_speak(request):
    gateway_harness.LINK_PROTOCOL["value"] = request.param
    yield request.param
    gateway_harness.LINK_PROTOCOL["value"] = "http"


def metric(url, name, headers):
    body = requests.get(url + "/metrics", headers=headers, timeout=10).text
    m = re.search(rf"^{name} ([0-9.e+]+)$", body, re.M)
    assert m, f"{name} is not in {url}/metrics"
    return float(m.group(1))


def send_big_stream(gw) -> socket.socket:
    """Starts a streamed chat of MAX_TOKENS tokens with 20 alternatives each (~2 kB of events per
    token, more than the kernel's socket buffers take) on a socket with a small receive window, and
    returns the socket, unread."""
    body = json.dumps({"model": STORIES_ID, "messages": [{"role": "user", "content": "Once"}],
                       "max_tokens": MAX_TOKENS, "temperature": 0, "stream": True, "logit_bias": NO_EOS,
                       "logprobs": True, "top_logprobs": 20}).encode()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connect: a small window
    sock.connect(("127.0.0.1", gw.port))
    sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                 b"Authorization: Bearer " + GATEWAY_KEY.encode() + b"\r\nContent-Length: " +
                 str(len(body)).encode() + b"\r\n\r\n" + body)
    return sock


def read_to_the_end(sock: socket.socket, watch=None) -> str:
    """Everything the gateway sends on `sock` until its last chunk (or it closes), as text, read in
    small pieces; `watch`, when given, is called every 50 pieces (to sample the gateway meanwhile)."""
    received = bytearray()
    sock.settimeout(60)
    reads = 0
    while not received.endswith(b"0\r\n\r\n"):
        piece = sock.recv(4096)
        if not piece:
            break
        received += piece
        reads += 1
        if watch and reads % 50 == 0:
            watch()
    return received.decode("utf-8", "replace")


def test_slow_reader_keeps_the_gateways_buffer_bounded(make_backend, make_gateway, links_speak):
    backend = make_backend("primary")
    gw = make_gateway([("primary", backend.url)])
    wait_until(lambda: gw.link("primary")["state"] == "healthy", 30, what="the link healthy")
    buffered = lambda: metric(gw.url, "tandem_gateway_stream_buffered_bytes", gw.headers())  # noqa: E731
    generated = lambda: metric(backend.url, "tandem_generated_tokens_total", backend.headers())  # noqa: E731
    assert buffered() == 0
    before = generated()

    sock = send_big_stream(gw)
    peak = 0
    try:
        # Read nothing until the backend has generated the whole reply (it buffers what the gateway
        # does not take), and a little longer: an unbounded gateway has taken it all by then.
        wait_until(lambda: generated() - before >= MAX_TOKENS, 120, what="the backend done generating")
        settle = time.monotonic() + 2
        while time.monotonic() < settle and peak <= BOUND:
            peak = max(peak, buffered())
            time.sleep(0.05)
        # Then read it all, in small pieces, watching the buffer.
        samples = []
        text = read_to_the_end(sock, watch=lambda: samples.append(buffered()))
        peak = max([peak, *samples])
    finally:
        sock.close()
    log = gw.log_text()
    # The case proves the bound only if the stream paused: it held about the limit at its peak.
    assert peak >= LIMIT / 2, f"the gateway never held {LIMIT // 2} bytes ({peak:.0f}): the stream did not pause"
    print(f"peak {peak:.0f} bytes buffered ({links_speak} link), {len(text)} characters received")
    assert peak <= BOUND, f"the gateway held {peak:.0f} bytes for one slow reader (bound {BOUND})\n{log}"
    assert text.startswith("HTTP/1.1 200"), text[:300]
    assert "data: [DONE]" in text and '"finish_reason":"length"' in text.replace(" ", ""), text[-600:]
    wait_until(lambda: buffered() == 0, 30, what="the gateway's stream buffer empty after the stream")


def test_a_grpc_call_that_ends_while_its_client_is_paused_ends_the_clients_stream(make_backend, make_gateway):
    total_s = 10  # timeouts.upstream_total_seconds: the call's gRPC deadline
    backend = make_backend("primary", protocol="grpc")
    gw = make_gateway([("primary", backend.url)], extra={"timeouts": {"upstream_total_seconds": total_s}})
    wait_until(lambda: gw.link("primary")["state"] == "healthy", 30, what="the link healthy")
    buffered = lambda: metric(gw.url, "tandem_gateway_stream_buffered_bytes", gw.headers())  # noqa: E731
    in_flight = lambda: metric(gw.url, 'tandem_gateway_link_in_flight\\{link="primary"\\}', gw.headers())  # noqa: E731

    sent = time.monotonic()
    sock = send_big_stream(gw)
    try:
        # Paused: the client holds the limit unread. The call began after `sent`, so its deadline
        # comes after sent + total_s; pausing before then means the deadline ends a paused call.
        wait_until(lambda: buffered() > LIMIT, 60, what="the stream paused for the client")
        paused_at = time.monotonic()
        assert paused_at < sent + total_s, f"the stream paused only after {paused_at - sent:.1f} s: the test proves nothing"
        # The deadline was set when the call began, before the pause was seen: wait it out.
        time.sleep(max(0.0, paused_at + total_s + 0.5 - time.monotonic()))
        text = read_to_the_end(sock)
    finally:
        sock.close()
    log = gw.log_text()
    assert text.startswith("HTTP/1.1 200"), text[:300]
    assert '"logprobs"' in text, text[:600]
    assert "data: [DONE]" not in text, text[-600:]
    assert '"error"' in text and "timeouts.upstream_total_seconds" in text, f"{text[-600:]}\n{log}"
    wait_until(lambda: in_flight() == 0 and buffered() == 0, 30, what="the call let go and the buffer empty")
    assert gw.proc.poll() is None, f"the gateway exited\n{log}"
    r = gw.complete(max_tokens=8)
    assert r.status_code == 200 and r.headers["X-Tandem-Link"] == "primary", r.text
