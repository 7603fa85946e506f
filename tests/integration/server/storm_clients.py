"""Clients for the storm tests: raw sockets that hang up on cue, a well-behaved streaming client that
checks every answer, and probes of the server process (/health, /metrics, /proc).

Everything talks to loopback only. Threads loop until a deadline, so each storm is bounded in time.
"""

import http.client
import json
import os
import random
import socket
import struct
import threading
import time

import requests

from conftest import API_KEY, MODEL_ID

# Greedy, so every answer to this prompt is the same text whatever runs beside it (test_batching checks it).
STEADY_PROMPT = "Write one sentence about the sea."


def chat_body(max_tokens: int, stream: bool = True, content: str = STEADY_PROMPT, **extra) -> bytes:
    body = {
        "model": MODEL_ID,
        "messages": [{"role": "user", "content": content}],
        "max_tokens": max_tokens,
        "temperature": 0,
        "stream": stream,
        **extra,
    }
    return json.dumps(body).encode()


def completion_body(max_tokens: int, stream: bool = True, content: str = STEADY_PROMPT, **extra) -> bytes:
    body = {"model": MODEL_ID, "prompt": content, "max_tokens": max_tokens, "temperature": 0, "stream": stream, **extra}
    return json.dumps(body).encode()


# Route -> body maker; completions serve models without a chat template (stories260K).
ROUTES = {"/v1/chat/completions": chat_body, "/v1/completions": completion_body}
CHAT = "/v1/chat/completions"


def post_bytes(path: str, body: bytes) -> bytes:
    """A whole HTTP/1.1 POST, as a client puts it on the wire."""
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {API_KEY}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def connect(port: int, source: str = "127.0.0.1", timeout: float = 30) -> socket.socket:
    """A TCP connection from `source` (any 127.x.y.z address is this machine on Linux)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.bind((source, 0))
        s.connect(("127.0.0.1", port))
    except BaseException:
        s.close()
        raise
    return s


def hang_up(s: socket.socket, rst: bool):
    """Closes like a client that leaves: FIN, or with SO_LINGER 0 an RST that drops unread data."""
    try:
        if rst:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    s.close()


def recv_until(s: socket.socket, received: bytes, marker: bytes, count: int = 1) -> bytes:
    """Reads until `marker` has appeared `count` times (or the server closes); returns all bytes so far."""
    while received.count(marker) < count:
        data = s.recv(65536)
        if not data:
            break
        received += data
    return received


class StormStats:
    """Counts, by name, what the storm clients did; thread-safe."""

    def __init__(self):
        self._lock = threading.Lock()
        self.counts: dict[str, int] = {}

    def add(self, name: str):
        with self._lock:
            self.counts[name] = self.counts.get(name, 0) + 1


class SteadyStreamer(threading.Thread):
    """A well-behaved client from 127.0.0.1: streams the same greedy answer again and again, reads every
    chunk and checks each stream ends with [DONE] and the text `expected`."""

    def __init__(self, port: int, expected: str, max_tokens: int, stop: threading.Event, timeout: float = 120,
                 route: str = CHAT):
        super().__init__(daemon=True)
        self.port, self.expected, self.max_tokens, self.stop_event, self.timeout, self.route = (
            port, expected, max_tokens, stop, timeout, route)
        self.completed = 0
        self.failures: list[str] = []

    def run(self):
        while not self.stop_event.is_set():
            try:
                text = stream_once(self.port, self.max_tokens, self.timeout, route=self.route)
            except Exception as e:  # any failure is a finding; record it and go on
                self.failures.append(f"{type(e).__name__}: {e}")
                time.sleep(0.5)
                continue
            if text != self.expected:
                self.failures.append(f"stream text {text!r} != {self.expected!r}")
            else:
                self.completed += 1


def stream_once(port: int, max_tokens: int, timeout: float = 120, source: str = "127.0.0.1",
                route: str = CHAT) -> str:
    """One streamed answer to the steady prompt read to the end; returns its text, raises unless it ends with
    a finish_reason and [DONE]."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout, source_address=(source, 0))
    try:
        conn.request("POST", route, body=ROUTES[route](max_tokens),
                     headers={"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/json"})
        response = conn.getresponse()
        if response.status != 200:
            raise AssertionError(f"status {response.status}: {response.read()[:300]!r}")
        text, finish, done = "", None, False
        while True:
            line = response.readline()
            if not line:
                break
            line = line.strip()
            if not line.startswith(b"data: "):
                continue
            payload = line[len(b"data: "):]
            if payload == b"[DONE]":
                done = True
                continue
            chunk = json.loads(payload)
            for choice in chunk.get("choices", []):
                text += choice.get("delta", {}).get("content") or choice.get("text") or ""
                finish = choice.get("finish_reason") or finish
        if not done or finish is None:
            raise AssertionError(f"stream ended without [DONE] or finish_reason (done={done}, finish={finish})")
        return text
    finally:
        conn.close()


def health(server) -> dict:
    r = requests.get(server.base_url + "/health", timeout=10)
    assert r.status_code == 200, f"/health answered {r.status_code}: {r.text[:300]}"
    return r.json()


def metrics(server) -> dict[str, float]:
    text = requests.get(server.base_url + "/metrics", headers=server.headers(), timeout=10).text
    values = {}
    for line in text.splitlines():
        if line and not line.startswith("#") and "{" not in line:
            name, value = line.split()[:2]
            values[name] = float(value)
    return values


def assert_alive(server):
    assert server.proc.poll() is None, (
        f"tandem serve died with {server.proc.returncode}:\n{server.log_text()}")


def wait_idle(server, timeout: float = 60):
    """Waits until /health and /metrics both say nothing runs or waits; fails with the last figures."""
    deadline = time.monotonic() + timeout
    while True:
        assert_alive(server)
        h, m = health(server), metrics(server)
        figures = (h.get("running"), h.get("queued"), m.get("tandem_running_sequences"), m.get("tandem_queue_depth"))
        if figures == (0, 0, 0.0, 0.0):
            return
        assert time.monotonic() < deadline, (
            f"not back to idle after {timeout} s: /health running={figures[0]} queued={figures[1]}, "
            f"/metrics running={figures[2]} queue_depth={figures[3]}")
        time.sleep(0.5)


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def wait_fds_at_most(server, limit: int, timeout: float = 30) -> int:
    """Waits for the server's open descriptors to fall to `limit` (closed connections released)."""
    deadline = time.monotonic() + timeout
    while True:
        n = open_fds(server.proc.pid)
        if n <= limit or time.monotonic() > deadline:
            return n
        time.sleep(0.5)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used, from /proc/<pid>/stat."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # After the ")" that ends comm, field 3 (state) is index 0, so utime (14) and stime (15) are 11 and 12.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def run_threads(target, n: int, seconds: float, *args) -> list[threading.Thread]:
    """Starts n threads running target(deadline, rng, *args); returns them (the caller joins)."""
    deadline = time.monotonic() + seconds
    threads = [threading.Thread(target=target, args=(deadline, random.Random(i), *args), daemon=True)
               for i in range(n)]
    for t in threads:
        t.start()
    return threads


class KeepAliveClient:
    """Sends one prepared request again and again on a keep-alive connection, as fast as the answers come;
    reconnects when the server closes. Returns each answer's status."""

    def __init__(self, port: int, request: bytes, timeout: float = 120):
        self.port, self.request, self.timeout = port, request, timeout
        self.sock = None
        self.buffer = b""

    def send(self) -> int:
        if self.sock is None:
            self.sock, self.buffer = connect(self.port, timeout=self.timeout), b""
        try:
            self.sock.sendall(self.request)
            head = recv_until(self.sock, self.buffer, b"\r\n\r\n")
            if b"\r\n\r\n" not in head:
                raise ConnectionError("the server closed the connection before answering")
            head, rest = head.split(b"\r\n\r\n", 1)
            status = int(head.split(b" ", 2)[1])
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
                elif name.strip().lower() == b"connection" and b"close" in value.lower():
                    length = -1
            if length < 0:
                self.close()
                return status
            while len(rest) < length:
                data = self.sock.recv(65536)
                if not data:
                    raise ConnectionError("the server closed the connection mid-answer")
                rest += data
            self.buffer = rest[length:]
            return status
        except OSError:
            self.close()
            raise

    def close(self):
        if self.sock is not None:
            self.sock.close()
            self.sock = None


class LongStream(threading.Thread):
    """One long streamed chat that runs until `stop` is set, then hangs up: the running stream whose chunks
    the admission floods must not stop. End-of-text tokens are banned so it cannot finish early."""

    NO_END = {"0": -100, "1": -100, "2": -100}  # SmolLM2's <|endoftext|>, <|im_start|>, <|im_end|>

    def __init__(self, port: int, max_tokens: int, stop: threading.Event, timeout: float = 120):
        super().__init__(daemon=True)
        self.port, self.max_tokens, self.stop_event, self.timeout = port, max_tokens, stop, timeout
        self.chunk_times: list[float] = []
        self.failures: list[str] = []
        self.ended_at = None  # when the stream ended on its own, if it did

    def run(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        try:
            body = chat_body(self.max_tokens, content="Write a long story about the sea.", logit_bias=self.NO_END)
            conn.request("POST", "/v1/chat/completions", body=body,
                         headers={"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/json"})
            response = conn.getresponse()
            if response.status != 200:
                self.failures.append(f"status {response.status}: {response.read()[:300]!r}")
                return
            while not self.stop_event.is_set():
                line = response.readline()
                if not line:
                    self.ended_at = time.monotonic()
                    return
                if not line.startswith(b"data: "):
                    continue
                self.chunk_times.append(time.monotonic())
                payload = line.strip()[len(b"data: "):]
                if payload == b"[DONE]":
                    self.ended_at = time.monotonic()
                    return
                if "error" in json.loads(payload):
                    self.failures.append(f"error event: {payload[:300]!r}")
                    return
        except Exception as e:  # a failure is a finding; the test reports it
            self.failures.append(f"{type(e).__name__}: {e}")
        finally:
            conn.close()

    def chunks_between(self, start: float, end: float) -> list[float]:
        return [t for t in list(self.chunk_times) if start <= t <= end]
