"""Clients that hang up at every stage of a stream, in a loop, beside a well-behaved client.

The first storm reproduces issue 10's crash: streaming clients with max_tokens 2-16 that close the socket
right after the first `data:` line raced the end of the generation and freed a write buffer twice
(Session::on_written). The server must stay up, keep streaming the right text to the client beside them,
release every connection, and end with nothing running or queued.
"""

import re
import threading
import time

import pytest

from conftest import MODEL_ID, ROOT
from storm_clients import (
    CHAT,
    ROUTES,
    SteadyStreamer,
    StormStats,
    assert_alive,
    connect,
    hang_up,
    open_fds,
    post_bytes,
    recv_until,
    run_threads,
    stream_once,
    wait_fds_at_most,
    wait_idle,
)

STORM_SECONDS = 30
STEADY_MAX_TOKENS = 24
COMPLETIONS = "/v1/completions"
# A tiny model whose tokens take microseconds: a generation's end and a hang-up meet far more often.
STORIES = ROOT.parent / "shared/models/stories260K.gguf"
FINISHED = re.compile(rb'"finish_reason":\s*"')

# Where in the exchange the client leaves; each reads (or writes) up to its point, then closes.
STAGES = [
    "mid_request",  # half the request sent
    "before_headers",  # the whole request sent, nothing read
    "after_headers",
    "after_first_data",
    "mid_stream",
    "after_finish_reason",  # the last content chunk read, [DONE] not yet
    "after_done",
]


def hang_up_at(port: int, route: str, stage: str, rst: bool, max_tokens: int, rng, stats: StormStats):
    request = post_bytes(route, ROUTES[route](max_tokens, content=f"Tell me a story, {rng.random()}"))
    s = connect(port)
    try:
        if stage == "mid_request":
            s.sendall(request[: len(request) // 2])
            stats.add(stage)
            return
        s.sendall(request)
        received = b""
        if stage == "after_headers":
            received = recv_until(s, received, b"\r\n\r\n")
        elif stage == "after_first_data":
            received = recv_until(s, received, b"data: ")
            while b"\n\n" not in received[received.find(b"data: "):]:  # the whole first event
                data = s.recv(65536)
                if not data:
                    break
                received += data
            # Leave a moment later each time, so that the hang-ups sweep across the generation's end.
            time.sleep(rng.random() * 0.04)
        elif stage == "mid_stream":
            received = recv_until(s, received, b"data: ", rng.randint(2, 6))
        elif stage == "after_finish_reason":
            while not FINISHED.search(received):
                data = s.recv(65536)
                if not data:
                    break
                received += data
        elif stage == "after_done":
            received = recv_until(s, received, b"[DONE]")
        if stage != "before_headers" and not received.startswith(b"HTTP/1.1 200"):
            stats.add(f"unexpected answer: {received[:80]!r}")
            return
        stats.add(stage)
    finally:
        hang_up(s, rst)


def hang_up_loop(deadline: float, rng, port: int, route: str, stages: list[str], max_tokens: tuple[int, int],
                 stats: StormStats):
    n = 0
    while time.monotonic() < deadline:
        n += 1
        try:
            hang_up_at(port, route, rng.choice(stages), n % 2 == 0, rng.randint(*max_tokens), rng, stats)
        except OSError as e:
            # A refused or reset connection means the server is gone or dropped us; the checks after the storm
            # say which, so count it and carry on.
            stats.add(f"{type(e).__name__}")
            time.sleep(0.05)


def storm(server, n_clients: int, stages: list[str], max_tokens: tuple[int, int], route: str = CHAT):
    """Runs the hang-up clients and a steady streamer for STORM_SECONDS; checks the server afterwards."""
    expected = stream_once(server.port, STEADY_MAX_TOKENS, route=route)
    assert expected
    fds_before = open_fds(server.proc.pid)
    stop = threading.Event()
    steady = SteadyStreamer(server.port, expected, STEADY_MAX_TOKENS, stop, route=route)
    steady.start()
    stats = StormStats()
    threads = run_threads(hang_up_loop, n_clients, STORM_SECONDS, server.port, route, stages, max_tokens, stats)
    started = time.monotonic()
    while any(t.is_alive() for t in threads):
        assert_alive(server)
        time.sleep(0.5)
    stop.set()
    steady.join(timeout=120)
    print(f"hang-ups in {time.monotonic() - started:.0f} s: {stats.counts}; steady streams: {steady.completed}")

    assert_alive(server)
    assert not steady.failures, f"the well-behaved client failed: {steady.failures[:5]}"
    assert steady.completed >= 1, "the well-behaved client completed no stream during the storm"
    hangups = sum(stats.counts.get(stage, 0) for stage in stages)
    assert hangups >= 20, f"the storm hardly ran: {stats.counts}"
    wait_idle(server)
    # Every connection the storm opened is released (a few descriptors of slack for the server's own use).
    fds_after = wait_fds_at_most(server, fds_before + 4)
    assert fds_after <= fds_before + 4, f"the server holds {fds_after} descriptors, {fds_before} before the storm"
    assert stream_once(server.port, STEADY_MAX_TOKENS, route=route) == expected


@pytest.fixture
def storm_server(make_server):
    # A server per storm, so one that crashes does not fail the next.
    return make_server(model={"max_batch_size": 8}, server={"max_concurrent_requests": 64})


def test_hang_up_after_the_first_chunk_of_short_streams(storm_server):
    # Issue 10's reproduction: four clients on the demo model crashed the server within 22 s.
    storm(storm_server, 4, ["after_first_data"], (2, 16))


def test_hang_up_after_the_first_chunk_on_a_tiny_model(make_server):
    # The same on stories260K (no chat template: completions), where the crash came within a second; on
    # this shared 2-core machine the pre-fix server died here in about 20 s, and not at all on the demo model.
    if not STORIES.exists():
        pytest.skip(f"{STORIES} is missing")
    server = make_server(model={"path": str(STORIES), "name": MODEL_ID, "context_size": 256, "max_batch_size": 8},
                         server={"max_concurrent_requests": 64})
    storm(server, 4, ["after_first_data"], (2, 4), route=COMPLETIONS)


def test_hang_ups_at_every_stage_with_fin_and_rst(storm_server):
    storm(storm_server, 6, STAGES, (2, 32))
