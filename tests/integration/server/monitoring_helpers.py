"""Helpers for the monitoring tests: a webhook receiver, a memory hog, fixture sysfs trees."""

import http.server
import json
import queue
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests
import yaml

DEPLOY = Path(__file__).resolve().parents[3] / "deploy"


class WebhookReceiver:
    """A real HTTP server on 127.0.0.1 that records every POSTed JSON body."""

    def __init__(self):
        self.bodies = queue.Queue()
        received = self.bodies

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length", "0"))
                received.put((self.path, self.headers.get("Content-Type"), json.loads(self.rfile.read(length))))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/alerts"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def next(self, timeout: float):
        return self.bodies.get(timeout=timeout)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def meminfo() -> dict:
    values = {}
    for line in Path("/proc/meminfo").read_text().splitlines():
        key, _, rest = line.partition(":")
        values[key] = int(rest.split()[0]) * 1024
    return values


def memory_used_ratio() -> float:
    m = meminfo()
    return (m["MemTotal"] - m["MemAvailable"]) / m["MemTotal"]


class MemoryHog:
    """A helper process that allocates and touches `nbytes` of memory until it is stopped."""

    CODE = (
        "import sys\n"
        "block = bytearray(b'\\x01') * int(sys.argv[1])  # filled, so every page is resident\n"
        "print('ready', flush=True)\n"
        "sys.stdin.read()\n"
    )

    def __init__(self, nbytes: int):
        self.proc = subprocess.Popen(
            [sys.executable, "-c", self.CODE, str(nbytes)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        line = self.proc.stdout.readline()
        if line.strip() != "ready":
            self.stop()
            raise RuntimeError(f"the memory hog did not start (exit {self.proc.poll()})")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def thermal_tree(root: Path, millidegrees: int) -> Path:
    """A sysfs fixture with one thermal zone; set_temperature() changes it."""
    zone = root / "class/thermal/thermal_zone0"
    zone.mkdir(parents=True, exist_ok=True)
    (zone / "type").write_text("fixture\n")
    set_temperature(root, millidegrees)
    return root


def set_temperature(root: Path, millidegrees: int):
    path = root / "class/thermal/thermal_zone0/temp"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(f"{millidegrees}\n")
    tmp.replace(path)  # atomic: the collector never reads a half-written value


def wait_for(predicate, timeout: float, interval: float = 0.2, what: str = "condition"):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what} (last: {last!r})")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Prometheus:
    """Debian's prometheus on a free loopback port with a generated config (scraping `targets`:
    job -> (host:port, bearer key), every second, with deploy/prometheus's rules) and temp storage."""

    def __init__(self, tmp_path: Path, targets: dict):
        binary = shutil.which("prometheus")
        assert binary, "prometheus is missing; scripts/setup.sh installs Debian's prometheus package"
        self.port = free_port()
        jobs = []
        for job, (target, key) in targets.items():
            key_file = tmp_path / f"{job}.key"
            key_file.write_text(key)
            jobs.append({"job_name": job, "scrape_interval": "1s",
                         "authorization": {"type": "Bearer", "credentials_file": str(key_file)},
                         "static_configs": [{"targets": [target]}]})
        config = {"global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
                  "rule_files": [str(DEPLOY / "prometheus/tandem.rules.yml")], "scrape_configs": jobs}
        (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
        self.log = open(tmp_path / "prometheus.log", "wb")
        self.proc = subprocess.Popen(
            [binary, f"--config.file={tmp_path / 'prometheus.yml'}", f"--storage.tsdb.path={tmp_path / 'prometheus-data'}",
             f"--web.listen-address=127.0.0.1:{self.port}"],
            stdout=self.log, stderr=subprocess.STDOUT)
        self.url = f"http://127.0.0.1:{self.port}"

    def query(self, promql: str):
        """The result vector, or None while Prometheus is not answering."""
        try:
            r = requests.get(self.url + "/api/v1/query", params={"query": promql}, timeout=5)
        except requests.ConnectionError:
            return None
        return r.json()["data"]["result"] if r.status_code == 200 else None

    def targets(self) -> str:
        try:
            return requests.get(self.url + "/api/v1/targets", timeout=5).text
        except requests.ConnectionError as e:
            return str(e)

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
