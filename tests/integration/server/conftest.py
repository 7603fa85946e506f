"""Starts the real `tandem serve` on 127.0.0.1 with the demo model for the server tests.

Every server started here listens on loopback only, on a free port, and is stopped (SIGTERM, then
SIGKILL if it lingers) when its fixture ends, so no test leaves a process behind.
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
MODEL = Path(os.environ.get("TANDEM_SERVER_MODEL", ROOT / "models/SmolLM2-135M-Instruct.Q4_1.gguf"))
API_KEY = "test-key-0123456789abcdef"
MODEL_ID = "SmolLM2-135M-Instruct.Q4_1"
START_TIMEOUT_S = 120


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A running `tandem serve` process and how to reach it."""

    def __init__(self, tmp_path: Path, overrides: dict):
        if not BINARY.exists():
            pytest.fail(f"{BINARY} is missing; build it with cmake --build build/release")
        if not MODEL.exists():
            pytest.fail(f"{MODEL} is missing; scripts/fetch_models.sh fetches it")
        self.port = free_port()
        config = {
            "network": {"bind_address": "127.0.0.1", "port": self.port},
            "model": {"path": str(MODEL), "context_size": 512},
            "security": {"api_keys": [API_KEY]},
            "limits": {"max_body_bytes": "64KiB"},
            "timeouts": {"shutdown_grace_seconds": 20},
            "logging": {"level": os.environ.get("TANDEM_LOG_LEVEL", "info")},
        }
        for section, values in overrides.items():
            config.setdefault(section, {}).update(values)
        self.config_path = tmp_path / f"tandem-{self.port}.json"
        self.config_path.write_text(json.dumps(config))
        self.log_path = tmp_path / f"tandem-{self.port}.log"
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [str(BINARY), "serve", "--config", str(self.config_path)],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.wait_ready()

    def wait_ready(self):
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"tandem serve exited with {self.proc.returncode}:\n{self.log_text()}")
            try:
                if requests.get(self.base_url + "/health", timeout=2).status_code == 200:
                    return
            except requests.ConnectionError:
                pass
            time.sleep(0.2)
        self.stop()
        pytest.fail(f"tandem serve was not ready within {START_TIMEOUT_S} s:\n{self.log_text()}")

    def headers(self, **extra):
        return {"Authorization": f"Bearer {API_KEY}", **extra}

    def log_text(self) -> str:
        self.log.flush()
        return self.log_path.read_text(errors="replace")[-4000:]

    def stop(self, timeout: float = 30) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.log.close()
        return self.proc.returncode


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """One shared server for a test module; tests must leave it serving."""
    s = Server(tmp_path_factory.mktemp("server"), {})
    yield s
    s.stop()


@pytest.fixture
def make_server(tmp_path):
    """Starts servers with config overrides; each is stopped when the test ends."""
    started = []

    def start(**overrides):
        s = Server(tmp_path, overrides)
        started.append(s)
        return s

    yield start
    for s in started:
        s.stop()
