"""A client that reads a long stream slowly does not make the gateway buffer the link's output without
bound: the stream stops reading its link (HTTP) or asking for the next message (gRPC) while the client
has more than 64 KiB pending, so tandem_gateway_stream_buffered_bytes stays near that, and the reply
still arrives whole. No timing is asserted: the client simply reads nothing until the backend has
generated the whole reply, then reads it all.

Loopback sockets grow their send buffers to megabytes, so only a reply larger than that reaches the
gateway's own queue: the HTTP-link case asks for 20 log probabilities per token (~3 MB; it held
~400 kB before the bound). A gRPC link cannot carry logprobs, so its case (~250 kB) checks that the
reply arrives whole and within the bound, without reaching the pause."""

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


def test_slow_reader_keeps_the_gateways_buffer_bounded(make_backend, make_gateway, links_speak):
    backend = make_backend("primary")
    gw = make_gateway([("primary", backend.url)])
    wait_until(lambda: gw.link("primary")["state"] == "healthy", 30, what="the link healthy")
    buffered = lambda: metric(gw.url, "tandem_gateway_stream_buffered_bytes", gw.headers())  # noqa: E731
    generated = lambda: metric(backend.url, "tandem_generated_tokens_total", backend.headers())  # noqa: E731
    assert buffered() == 0
    before = generated()

    # Chat with 20 alternatives per token (over an HTTP link): ~2 kB of events per token, more than
    # the kernel's socket buffers take; a gRPC link carries no logprobs, so it streams the text alone.
    big = {"logprobs": True, "top_logprobs": 20} if links_speak == "http" else {}
    body = json.dumps({"model": STORIES_ID, "messages": [{"role": "user", "content": "Once"}],
                       "max_tokens": MAX_TOKENS, "temperature": 0, "stream": True, "logit_bias": NO_EOS,
                       **big}).encode()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connect: a small window
    sock.connect(("127.0.0.1", gw.port))
    sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                 b"Authorization: Bearer " + GATEWAY_KEY.encode() + b"\r\nContent-Length: " +
                 str(len(body)).encode() + b"\r\n\r\n" + body)
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
        received = bytearray()
        sock.settimeout(60)
        reads = 0
        while not received.endswith(b"0\r\n\r\n"):
            piece = sock.recv(4096)
            if not piece:
                break
            received += piece
            reads += 1
            if reads % 50 == 0:
                peak = max(peak, buffered())
    finally:
        sock.close()
    log = gw.log_text()
    print(f"peak {peak:.0f} bytes buffered ({links_speak} link), {len(received)} bytes received")
    assert peak <= BOUND, f"the gateway held {peak:.0f} bytes for one slow reader (bound {BOUND})\n{log}"
    text = received.decode("utf-8", "replace")
    assert text.startswith("HTTP/1.1 200"), text[:300]
    assert "data: [DONE]" in text and '"finish_reason":"length"' in text.replace(" ", ""), text[-600:]
    wait_until(lambda: buffered() == 0, 30, what="the gateway's stream buffer empty after the stream")
