"""Real processes for the gateway tests: `tandem serve` backends and `tandem gateway` on loopback.

Every process listens on 127.0.0.1 on a free port, writes its output to a log file under the test's
tmp_path (its tail goes into failure messages), and is stopped when its fixture ends: SIGTERM, then
SIGKILL if it lingers. A backend can be killed with SIGKILL and started again on the same port, as
an operator would after a crash. Helpers live here rather than in conftest.py so that test files can
import them by a name no other test folder uses.
"""

import json
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[3]
BINARY = Path(os.environ.get("TANDEM_BINARY", ROOT / "build/release/tools/tandem"))
STORIES = Path(os.environ.get("TANDEM_GATEWAY_MODEL", ROOT.parent / "shared/models/stories260K.gguf"))
SMOLLM2 = Path(os.environ.get("TANDEM_SERVER_MODEL", ROOT / "models/SmolLM2-135M-Instruct.Q4_1.gguf"))
STORIES_ID = "stories260K"
SMOLLM2_ID = "SmolLM2-135M-Instruct.Q4_1"
BACKEND_KEY = "backend-key-0123456789abcdef"  # what the gateway sends upstream (the link's api_key)
GATEWAY_KEY = "gateway-key-fedcba9876543210"  # what users send to the gateway
START_TIMEOUT_S = 60
# Token 2 is stories260K's end of sequence: a bias of -100 keeps a stream going for max_tokens.
NO_EOS = {"2": -100}
# The demo model's (SmolLM2's) end-of-text, im_start and im_end: banned, a generation runs to its
# max_tokens, so a test that needs a stream still going when it acts asks for more tokens than the
# engine can write meanwhile, on any machine.
SMOLLM2_NO_STOP = {"0": -100, "1": -100, "2": -100}
SMOLLM2_CONTEXT = 8192  # the demo model's training context: the longest stream a backend can hold

# Small failover numbers so that each rule plays out in seconds.
FAST_FAILOVER = {
    "latency_threshold_ms": 200,
    "probe_interval_ms": 100,
    "probe_timeout_ms": 1000,
    "slow_probes": 3,
    "failed_probes": 2,
    "recover_probes": 10,
    "min_hold_seconds": 2,
}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate, timeout: float, interval: float = 0.05, what: str = "condition"):
    """Polls predicate until it returns a true value, which it returns; fails the test at timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        # A Response counts as a value whatever its status (bool(Response) is False for 4xx and 5xx).
        if isinstance(value, requests.Response) or value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"{what} did not happen within {timeout} s")
        time.sleep(interval)


class Process:
    """A started binary, its log, and a clean stop."""

    def __init__(self, args: list[str], log_path: Path):
        if not BINARY.exists():
            pytest.fail(f"{BINARY} is missing; build it with cmake --build build/release")
        self.args = args
        self.log_path = log_path
        self.proc = None
        self.log = None

    def spawn(self):
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([str(BINARY), *self.args], stdout=self.log, stderr=subprocess.STDOUT)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_text(self) -> str:
        if self.log and not self.log.closed:
            self.log.flush()
        return self.log_path.read_text(errors="replace")[-4000:]

    def wait_healthy(self, url: str, name: str):
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"{name} exited with {self.proc.returncode}:\n{self.log_text()}")
            try:
                if requests.get(url + "/health", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.05)
        self.stop()
        pytest.fail(f"{name} was not healthy within {START_TIMEOUT_S} s:\n{self.log_text()}")

    def kill9(self):
        """SIGKILL: the process gets no chance to close its connections gracefully."""
        if self.alive():
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self, timeout: float = 20):
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        if self.log and not self.log.closed:
            self.log.close()


# The protocol of the links the next Gateway gets: "http", or "grpc" (issue 14), where each Backend
# also serves gRPC and a link given a backend's HTTP url goes to its gRPC port instead. conftest.py
# sets it for the tests that run with both kinds of link.
LINK_PROTOCOL = {"value": "http"}
_GRPC_URL_OF = {}  # a backend's HTTP url -> its gRPC url
_GRPC_URLS = set()  # urls of gRPC ports themselves (a gRPC-only backend, a proxy in front of one)


def mark_grpc_url(url: str) -> str:
    """Links given `url` speak gRPC whatever LINK_PROTOCOL says; returns url."""
    _GRPC_URLS.add(url)
    return url


def grpc_health(port: int, timeout: float = 2) -> int | None:
    """grpc.health.v1.Health/Check on 127.0.0.1:port: 1 SERVING, 2 NOT_SERVING, None when no answer.
    The two messages are written by hand (one optional field each), so no generated code is needed."""
    import grpc

    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        check = channel.unary_unary("/grpc.health.v1.Health/Check", request_serializer=lambda b: b,
                                    response_deserializer=lambda b: b)
        try:
            answer = check(b"", timeout=timeout)
        except grpc.RpcError:
            return None
    return answer[1] if len(answer) >= 2 and answer[0] == 0x08 else 0


def proxied_link(backend, make_proxy) -> tuple:
    """A latency proxy in front of the port the links speak to (the backend's gRPC port when the
    links speak gRPC: HTTP/2 passes a byte-level proxy unchanged), and the url to give the gateway."""
    if LINK_PROTOCOL["value"] == "grpc":
        proxy = make_proxy(backend.grpc_port)
        return proxy, mark_grpc_url(f"http://127.0.0.1:{proxy.port}")
    proxy = make_proxy(backend.port)
    return proxy, f"http://127.0.0.1:{proxy.port}"


class Backend(Process):
    """`tandem serve` on a model, behind BACKEND_KEY."""

    def __init__(self, tmp_path: Path, name: str, model: Path = STORIES, max_batch_size: int = 16, context: int = 2048,
                 protocol: str | None = None, extra: dict | None = None):
        """`protocol` "grpc": the gRPC listener alone (network.protocol "grpc"); `url` is then the
        gRPC port's, and links given it speak gRPC. `extra`: further config, section by section."""
        if not model.exists():
            pytest.fail(f"{model} is missing (scripts/fetch_models.sh fetches the demo model)")
        self.name = name
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.grpc_only = protocol == "grpc"
        config = {
            "network": {"bind_address": "127.0.0.1", "port": self.port},
            "model": {"path": str(model), "context_size": context, "max_batch_size": max_batch_size},
            "security": {"api_keys": [BACKEND_KEY]},
            "timeouts": {"shutdown_grace_seconds": 5},
            "logging": {"level": os.environ.get("TANDEM_LOG_LEVEL", "warn")},
        }
        for section, values in (extra or {}).items():
            config.setdefault(section, {}).update(values)
        if self.grpc_only:
            self.grpc_port = free_port()
            config["network"].update(protocol="grpc", grpc_port=self.grpc_port)
            self.url = mark_grpc_url(f"http://127.0.0.1:{self.grpc_port}")
        elif LINK_PROTOCOL["value"] == "grpc":
            self.grpc_port = free_port()
            config["network"].update(protocol="both", grpc_port=self.grpc_port)
            _GRPC_URL_OF[self.url] = f"http://127.0.0.1:{self.grpc_port}"
        config_path = tmp_path / f"backend-{name}.json"
        config_path.write_text(json.dumps(config))
        super().__init__(["serve", "--config", str(config_path)], tmp_path / f"backend-{name}.log")
        self.start()

    def start(self):
        """Starts (or restarts, after a kill) on the same port."""
        self.spawn()
        if self.grpc_only:
            self.wait_serving()
        else:
            self.wait_healthy(self.url, f"backend {self.name}")

    def wait_serving(self):
        """A gRPC-only backend has no GET /health: its health service says when it serves."""
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"backend {self.name} exited with {self.proc.returncode}:\n{self.log_text()}")
            if grpc_health(self.grpc_port, timeout=1) == 1:
                return
            time.sleep(0.05)
        self.stop()
        pytest.fail(f"backend {self.name} did not serve gRPC within {START_TIMEOUT_S} s:\n{self.log_text()}")

    def headers(self):
        return {"Authorization": f"Bearer {BACKEND_KEY}"}


def link_config(name: str, url: str) -> dict:
    if url in _GRPC_URLS:
        return {"name": name, "url": url, "protocol": "grpc", "api_key": BACKEND_KEY}
    if LINK_PROTOCOL["value"] == "grpc" and url in _GRPC_URL_OF:
        return {"name": name, "url": _GRPC_URL_OF[url], "protocol": "grpc", "api_key": BACKEND_KEY}
    return {"name": name, "url": url, "protocol": "http", "api_key": BACKEND_KEY}


class Gateway(Process):
    """`tandem gateway` in front of links given as (name, url) pairs, in order (the first is the primary)."""

    def __init__(self, tmp_path: Path, links: list[tuple[str, str]], failover: dict | None = None,
                 api_keys: list[str] | None = None, extra: dict | None = None, wait: bool = True):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.config = {
            "network": {"bind_address": "127.0.0.1", "port": self.port},
            "links": [link_config(n, u) for n, u in links],
            "failover": dict(FAST_FAILOVER, **(failover or {})),
            "security": {"api_keys": [GATEWAY_KEY] if api_keys is None else api_keys},
        }
        for section, values in (extra or {}).items():
            self.config.setdefault(section, {}).update(values)
        self.config_path = tmp_path / f"gateway-{self.port}.json"
        self.config_path.write_text(json.dumps(self.config, indent=2))
        super().__init__(["gateway", "--config", str(self.config_path)], tmp_path / f"gateway-{self.port}.log")
        self.spawn()
        if wait:
            self.wait_healthy(self.url, "tandem gateway")

    def headers(self, **extra):
        return {"Authorization": f"Bearer {GATEWAY_KEY}", **extra}

    def links(self) -> dict:
        r = requests.get(self.url + "/api/links", headers=self.headers(), timeout=5)
        assert r.status_code == 200, f"/api/links: {r.status_code} {r.text}\n{self.log_text()}"
        return r.json()

    def link(self, name: str) -> dict:
        return next(link for link in self.links()["links"] if link["name"] == name)

    def complete(self, prompt: str = "Once upon a time", max_tokens: int = 4, timeout: float = 30, **body):
        """One small greedy completion through the gateway; returns the requests.Response."""
        payload = {"model": STORIES_ID, "prompt": prompt, "max_tokens": max_tokens, "temperature": 0, **body}
        return requests.post(self.url + "/v1/completions", headers=self.headers(), json=payload, timeout=timeout)


def run_check(config: dict | str, tmp_path: Path) -> subprocess.CompletedProcess:
    """`tandem gateway --config F --check` on a config (a dict, or raw text for malformed files)."""
    path = tmp_path / f"check-{time.monotonic_ns()}.json"
    path.write_text(config if isinstance(config, str) else json.dumps(config))
    return subprocess.run([str(BINARY), "gateway", "--config", str(path), "--check"],
                          capture_output=True, text=True, timeout=30)
