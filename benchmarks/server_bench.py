#!/usr/bin/env python3
"""Load benchmark for `tandem serve`: concurrent streaming chat requests over loopback.

Starts the server itself (or uses --url for one already running on this machine), sends a bounded
number of requests from N client threads with the official openai client, and reports time to
first token, inter-token latency, end-to-end latency (p50/p90/p99) and throughput. Only loopback
addresses are accepted as targets.

  .venv/bin/python benchmarks/server_bench.py --requests 16 --concurrency 4 --max-tokens 32
"""

import argparse
import concurrent.futures
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

import openai
import requests

ROOT = Path(__file__).resolve().parents[1]
PROMPTS = [
    "Explain why the sky is blue.",
    "Write a haiku about the sea.",
    "List three uses of copper.",
    "What is a prime number?",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(args) -> tuple[subprocess.Popen, str]:
    port = free_port()
    config = {
        "network": {"bind_address": "127.0.0.1", "port": port},
        "model": {"path": str(Path(args.model).resolve()), "context_size": args.context},
        "server": {"max_concurrent_requests": max(64, args.concurrency * 2)},
        "logging": {"level": "warn"},
    }
    cfg = Path(tempfile.mkdtemp()) / "bench.json"
    cfg.write_text(json.dumps(config))
    proc = subprocess.Popen([args.binary, "serve", "--config", str(cfg)])
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"server exited with {proc.returncode}")
        try:
            if requests.get(url + "/health", timeout=2).status_code == 200:
                return proc, url
        except requests.ConnectionError:
            pass
        time.sleep(0.2)
    proc.kill()
    sys.exit("server did not become ready")


def one_request(client, model, prompt, max_tokens):
    start = time.perf_counter()
    first = None
    stamps = []
    tokens = 0
    stream = client.chat.completions.create(
        model=model, messages=[{"role": "user", "content": prompt}], max_tokens=max_tokens,
        temperature=0.7, seed=1, stream=True, stream_options={"include_usage": True},
    )
    for chunk in stream:
        now = time.perf_counter()
        if chunk.usage is not None:
            tokens = chunk.usage.completion_tokens
        elif chunk.choices and chunk.choices[0].delta.content:
            if first is None:
                first = now - start
            stamps.append(now)
    end = time.perf_counter() - start
    gaps = [b - a for a, b in zip(stamps, stamps[1:])]
    return first or end, gaps, end, tokens


def pct(values, p):
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", help="a server already running on loopback (default: start one)")
    ap.add_argument("--api-key", default="none")
    ap.add_argument("--binary", default=str(ROOT / "build/release/tools/tandem"))
    ap.add_argument("--model", default=str(ROOT / "models/SmolLM2-135M-Instruct.Q4_1.gguf"))
    ap.add_argument("--context", type=int, default=1024)
    ap.add_argument("--requests", type=int, default=16)
    ap.add_argument("--concurrency", type=int, default=4)
    ap.add_argument("--max-tokens", type=int, default=32)
    ap.add_argument("--json", action="store_true", help="print the results as one JSON object")
    args = ap.parse_args()
    if args.requests > 10_000:
        sys.exit("--requests is capped at 10000")

    proc = None
    url = args.url
    if url:
        host = urllib.parse.urlparse(url).hostname
        if host not in ("127.0.0.1", "localhost", "::1"):
            sys.exit("benchmarks target loopback only")
    else:
        proc, url = start_server(args)
    try:
        client = openai.OpenAI(base_url=url + "/v1", api_key=args.api_key, max_retries=0, timeout=300)
        model = client.models.list().data[0].id
        wall = time.perf_counter()
        with concurrent.futures.ThreadPoolExecutor(args.concurrency) as pool:
            futures = [
                pool.submit(one_request, client, model, PROMPTS[i % len(PROMPTS)], args.max_tokens)
                for i in range(args.requests)
            ]
            results = [f.result() for f in futures]
        wall = time.perf_counter() - wall
    finally:
        if proc:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=60)

    ttft = [r[0] for r in results]
    itl = [g for r in results for g in r[1]]
    e2e = [r[2] for r in results]
    tokens = sum(r[3] for r in results)
    report = {
        "requests": args.requests,
        "concurrency": args.concurrency,
        "max_tokens": args.max_tokens,
        "wall_s": round(wall, 3),
        "generated_tokens": tokens,
        "tokens_per_s": round(tokens / wall, 2),
        "requests_per_s": round(args.requests / wall, 3),
        "ttft_ms": {p: round(pct(ttft, p) * 1000, 1) for p in (50, 90, 99)},
        "itl_ms": {p: round(pct(itl, p) * 1000, 2) for p in (50, 90, 99)},
        "e2e_ms": {p: round(pct(e2e, p) * 1000, 1) for p in (50, 90, 99)},
        "ttft_mean_ms": round(statistics.mean(ttft) * 1000, 1),
    }
    if args.json:
        print(json.dumps(report))
    else:
        for k, v in report.items():
            print(f"{k:>16}: {v}")


if __name__ == "__main__":
    main()
