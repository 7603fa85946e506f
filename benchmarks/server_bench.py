#!/usr/bin/env python3
"""Load benchmark for `tandem serve`, measured by `tandem bench`.

Starts the server itself on loopback (or uses --url for one already running on this machine) and
runs `tandem bench` against it: streamed chat completions at each concurrency level, with time to
first token, inter-token latency and end-to-end latency at p50/p95/p99, requests/s and output
tokens/s. Only loopback addresses are accepted as targets.

  .venv/bin/python benchmarks/server_bench.py --requests 32 --concurrency 1,4,16 --max-tokens 32 \
      --json /tmp/bench.json --html /tmp/bench.html
"""

import argparse
import json
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(proc: subprocess.Popen, url: str, what: str, timeout: float = 180):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"{what} exited with {proc.returncode}")
        try:
            if requests.get(url + "/health", timeout=2).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.2)
    proc.kill()
    sys.exit(f"{what} did not become ready")


def start_tandem(binary: str, model: str, context: int, max_batch_size: int, threads: int = 0,
                 max_concurrent: int = 256) -> tuple[subprocess.Popen, str]:
    port = free_port()
    config = {
        "network": {"bind_address": "127.0.0.1", "port": port},
        "model": {"path": str(Path(model).resolve()), "context_size": context, "max_batch_size": max_batch_size},
        "performance": {"threads": threads},
        "server": {"max_concurrent_requests": max_concurrent},
        "logging": {"level": "warn"},
    }
    cfg = Path(tempfile.mkdtemp()) / "tandem.json"
    cfg.write_text(json.dumps(config))
    proc = subprocess.Popen([binary, "serve", "--config", str(cfg)])
    url = f"http://127.0.0.1:{port}"
    wait_ready(proc, url, "tandem serve")
    return proc, url


def run_bench(binary: str, url: str, concurrency: str, requests_per_level: int, max_tokens: int,
              prompt_tokens: int = 32, api_key: str | None = None, html: str | None = None,
              extra: list[str] | None = None) -> dict:
    """`tandem bench --stream` against url; returns its --json report."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "bench.json"
        args = [binary, "bench", "--url", url, "--concurrency", concurrency, "--requests", str(requests_per_level),
                "--max-tokens", str(max_tokens), "--prompt-tokens", str(prompt_tokens), "--stream",
                "--json", str(out)]
        if api_key:
            args += ["--api-key", api_key]
        if html:
            args += ["--html", html]
        subprocess.run(args + (extra or []), check=True)
        return json.loads(out.read_text())


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", help="a server already running on loopback (default: start one)")
    ap.add_argument("--api-key")
    ap.add_argument("--binary", default=str(ROOT / "build/release/tools/tandem"))
    ap.add_argument("--model", default=str(ROOT / "models/SmolLM2-135M-Instruct.Q4_1.gguf"))
    ap.add_argument("--context", type=int, default=1024)
    ap.add_argument("--max-batch-size", type=int, default=16)
    ap.add_argument("--requests", type=int, default=16, help="requests per concurrency level")
    ap.add_argument("--concurrency", default="4", help="levels, comma-separated")
    ap.add_argument("--max-tokens", type=int, default=32)
    ap.add_argument("--json", help="write tandem bench's JSON report here")
    ap.add_argument("--html", help="write tandem bench's HTML report here")
    args = ap.parse_args()
    if args.requests > 10_000:
        sys.exit("--requests is capped at 10000")

    proc = None
    url = args.url
    if url:
        if urllib.parse.urlparse(url).hostname not in LOOPBACK:
            sys.exit("benchmarks target loopback only")
    else:
        proc, url = start_tandem(args.binary, args.model, args.context, args.max_batch_size)
    try:
        report = run_bench(args.binary, url, args.concurrency, args.requests, args.max_tokens,
                           api_key=args.api_key, html=args.html)
    finally:
        if proc:
            proc.terminate()
            proc.wait(timeout=60)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
