"""Idle-socket floods and file-descriptor exhaustion.

Issue 10: 1,024 idle sockets locked everyone out (one global cap, no per-address limit), and out of file
descriptors the accept loop re-armed at once, burning a core and logging nothing. Any 127.x.y.z address
is this machine on Linux, so "another client" is a socket bound to 127.0.0.2 before it connects.
"""

import resource
import select
import socket
import threading
import time

import requests

from storm_clients import (
    SteadyStreamer,
    assert_alive,
    connect,
    cpu_seconds,
    hang_up,
    open_fds,
    stream_once,
    wait_fds_at_most,
    wait_idle,
)

MAX_TOKENS = 16
# Long enough that no connection here is closed by a timeout while a test runs.
PATIENT = {"read_seconds": 300, "idle_seconds": 300}


def still_open(s: socket.socket) -> bool:
    """True while the server holds the connection: nothing to read yet. A refusal (a 503, then EOF) or a
    reset counts as closed."""
    while True:
        readable, _, _ = select.select([s], [], [], 0)
        if not readable:
            return True
        try:
            if not s.recv(65536):
                return False
        except OSError:
            return False


def count_open(sockets: list[socket.socket], settle_s: float = 10, expect_at_most: int = 0) -> int:
    """Open sockets among `sockets`, once the server has had up to settle_s to turn the excess away."""
    deadline = time.monotonic() + settle_s
    while True:
        n = sum(still_open(s) for s in sockets)
        if n <= expect_at_most or time.monotonic() > deadline:
            return n
        time.sleep(0.2)


def test_idle_sockets_from_one_address_do_not_lock_out_another(make_server):
    server = make_server(limits={"max_connections": 64, "max_connections_per_address": 16}, timeouts=PATIENT)
    expected = stream_once(server.port, MAX_TOKENS)
    idle = []
    try:
        for _ in range(200):
            idle.append(connect(server.port, source="127.0.0.2", timeout=10))
        # The server holds 16 of them (its per-address cap) and turns the rest away.
        held = count_open(idle, expect_at_most=16)
        assert held <= 16, f"the server holds {held} idle connections from 127.0.0.2; its cap is 16"
        # A client from 127.0.0.1 is served at once, plain and streamed, while 127.0.0.2's sockets sit idle.
        r = requests.get(server.base_url + "/health", timeout=10)
        assert r.status_code == 200, r.text
        assert stream_once(server.port, MAX_TOKENS, timeout=30) == expected
        # A second flooding address takes its own 16, and 127.0.0.1 is still served.
        for _ in range(100):
            idle.append(connect(server.port, source="127.0.0.3", timeout=10))
        held = count_open(idle, expect_at_most=32)
        assert held <= 32, f"the server holds {held} idle connections from 127.0.0.2 and 127.0.0.3"
        assert stream_once(server.port, MAX_TOKENS, timeout=30) == expected
        assert_alive(server)
    finally:
        for s in idle:
            hang_up(s, rst=False)
    wait_idle(server)


def test_a_flood_beside_a_running_stream_does_not_stop_it(make_server):
    server = make_server(limits={"max_connections": 64, "max_connections_per_address": 16}, timeouts=PATIENT)
    expected = stream_once(server.port, MAX_TOKENS)
    stop = threading.Event()
    steady = SteadyStreamer(server.port, expected, MAX_TOKENS, stop, timeout=60)
    steady.start()
    idle = []
    try:
        # Ten seconds of connections opened and left idle from 127.0.0.2, a few hundred in all.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and len(idle) < 400:
            idle.append(connect(server.port, source="127.0.0.2", timeout=10))
            time.sleep(0.02)
        stop.set()
        steady.join(timeout=120)
        assert not steady.failures, f"the well-behaved client failed: {steady.failures[:5]}"
        assert steady.completed >= 1
        assert_alive(server)
    finally:
        for s in idle:
            hang_up(s, rst=True)
    wait_idle(server)


def test_out_of_file_descriptors_backs_off_logs_and_recovers(make_server):
    # Defaults for the connection caps; the flood comes from eight addresses so neither cap is what stops it.
    server = make_server(timeouts=PATIENT)
    expected = stream_once(server.port, MAX_TOKENS)
    pid = server.proc.pid
    base_fds = open_fds(pid)
    limit = base_fds + 64
    # As `ulimit -n` would, but after start-up so the model and threads are in place: the server's own
    # limit, soft and hard.
    resource.prlimit(pid, resource.RLIMIT_NOFILE, (limit, limit))
    sockets = []
    try:
        for i in range(160):
            # The kernel completes the handshake into the listen backlog even when the server cannot accept.
            sockets.append(connect(server.port, source=f"127.0.0.{2 + i % 8}", timeout=10))
        # Wait until the server is out of descriptors.
        deadline = time.monotonic() + 20
        while open_fds(pid) < limit and time.monotonic() < deadline:
            time.sleep(0.2)
        assert open_fds(pid) >= limit - 2, f"the server holds {open_fds(pid)} descriptors, its limit {limit}"
        time.sleep(1)
        # Exhausted, it must wait rather than retry accept() in a loop: well under a core.
        cpu_before, wall_before = cpu_seconds(pid), time.monotonic()
        time.sleep(3)
        cpu_share = (cpu_seconds(pid) - cpu_before) / (time.monotonic() - wall_before)
        print(f"out of descriptors ({open_fds(pid)} open, limit {limit}): {cpu_share:.1%} of a core")
        assert_alive(server)
        assert cpu_share < 0.1, f"out of descriptors, the idle server used {cpu_share:.0%} of a core"
        log = server.log_path.read_text(errors="replace")
        assert "file descriptors" in log, f"the server did not log that it is out of file descriptors:\n{log[-2000:]}"
    finally:
        for s in sockets:
            hang_up(s, rst=False)
    # Once the sockets close it serves again.
    fds = wait_fds_at_most(server, base_fds + 4)
    assert fds <= base_fds + 4, f"the server still holds {fds} descriptors, {base_fds} before the flood"
    deadline = time.monotonic() + 30
    while True:
        try:
            r = requests.get(server.base_url + "/health", timeout=5)
            break
        except requests.RequestException:
            assert time.monotonic() < deadline, "the server did not serve again after the sockets closed"
            time.sleep(0.5)
    assert r.status_code == 200
    assert stream_once(server.port, MAX_TOKENS, timeout=60) == expected
    wait_idle(server)
