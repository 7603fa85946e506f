#!/usr/bin/env python3
"""Tandem's server against llama.cpp's llama-server: same model file, same threads, one run.

Both servers run on loopback with 16 parallel sequences (continuous batching) and 2 threads.
For 1, 4, 16 and 32 concurrent clients, each client streams chat completions with 16-token
replies (official openai client); the script reports requests/s, median and p90 end-to-end
latency and median time to first token, and appends a table with its command to
benchmarks/RESULTS.md.

llama-server is built from llama.cpp's source outside this repository (for example from the
llama-cpp-python sdist's vendor/llama.cpp with cmake, target llama-server) and passed with
--llama-server.

  .venv/bin/python benchmarks/server_vs_llama_cpp.py --llama-server /work/peer/build/bin/llama-server
"""

import argparse
import concurrent.futures
import datetime
import importlib.util
import json
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import openai
import requests

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("server_bench", ROOT / "benchmarks/server_bench.py")
server_bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(server_bench)

PARALLEL = 16


def wait_ready(proc, url, path):
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"{path} exited with {proc.returncode}")
        try:
            if requests.get(url + "/health", timeout=2).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.3)
    proc.kill()
    sys.exit(f"{path} did not become ready")


def start_tandem(args):
    port = server_bench.free_port()
    config = {
        "network": {"bind_address": "127.0.0.1", "port": port},
        "model": {"path": str(Path(args.model).resolve()), "context_size": args.context,
                  "max_batch_size": PARALLEL},
        "performance": {"threads": args.threads},
        "server": {"max_concurrent_requests": 256},
        "logging": {"level": "warn"},
    }
    cfg = Path(tempfile.mkdtemp()) / "tandem.json"
    cfg.write_text(json.dumps(config))
    proc = subprocess.Popen([args.binary, "serve", "--config", str(cfg)])
    url = f"http://127.0.0.1:{port}"
    wait_ready(proc, url, "tandem serve")
    return proc, url


def start_llama(args):
    port = server_bench.free_port()
    proc = subprocess.Popen(
        [args.llama_server, "-m", args.model, "--host", "127.0.0.1", "--port", str(port), "-t", str(args.threads),
         "-tb", str(args.threads), "-np", str(PARALLEL), "-c", str(args.context * PARALLEL), "--log-disable"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    wait_ready(proc, url, "llama-server")
    return proc, url


def measure(url, concurrency, n_requests, max_tokens):
    client = openai.OpenAI(base_url=url + "/v1", api_key="none", max_retries=0, timeout=600)
    model = client.models.list().data[0].id
    server_bench.one_request(client, model, "Hello", max_tokens)  # warm-up
    prompts = [server_bench.PROMPTS[i % len(server_bench.PROMPTS)] for i in range(n_requests)]
    start = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(max_workers=concurrency) as pool:
        results = list(pool.map(lambda p: server_bench.one_request(client, model, p, max_tokens), prompts))
    wall = time.perf_counter() - start
    ttft = [r[0] for r in results]
    e2e = [r[2] for r in results]
    tokens = sum(r[3] for r in results)
    return {"rps": n_requests / wall, "e2e_p50": statistics.median(e2e), "e2e_p90": server_bench.pct(e2e, 90),
            "ttft_p50": statistics.median(ttft), "tok_s": tokens / wall}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--llama-server", required=True)
    ap.add_argument("--binary", default=str(ROOT / "build/release/tools/tandem"))
    ap.add_argument("--model", default=str(ROOT / "models/SmolLM2-135M-Instruct.Q4_1.gguf"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--context", type=int, default=1024, help="tokens per sequence")
    ap.add_argument("--clients", default="1,4,16,32")
    ap.add_argument("--max-tokens", type=int, default=16)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()

    rows = {}
    for name, start in (("tandem", start_tandem), ("llama.cpp", start_llama)):
        proc, url = start(args)
        try:
            for c in map(int, args.clients.split(",")):
                rows[(name, c)] = measure(url, c, max(16, 3 * c), args.max_tokens)
                print(name, c, rows[(name, c)], flush=True)
        finally:
            proc.terminate()
            proc.wait(timeout=30)

    lines = [f"## {datetime.datetime.now():%Y-%m-%d %H:%M} — server, {Path(args.model).name}, {args.threads} threads",
             "", "Command: `" + " ".join(shlex.quote(a) for a in ["benchmarks/server_vs_llama_cpp.py"] + sys.argv[1:]) + "`",
             "", f"Both servers: {PARALLEL} parallel sequences, {args.context} tokens of context each, "
             f"{args.max_tokens}-token streamed chat replies, requests = max(16, 3 x clients).", "",
             "| clients | req/s tandem | req/s llama.cpp | ratio | median e2e ms tandem | llama.cpp | p90 e2e ms tandem | llama.cpp | median TTFT ms tandem | llama.cpp |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for c in map(int, args.clients.split(",")):
        t, l = rows[("tandem", c)], rows[("llama.cpp", c)]
        lines.append(f"| {c} | {t['rps']:.1f} | {l['rps']:.1f} | {t['rps'] / l['rps']:.2f}x | {t['e2e_p50'] * 1000:.0f} | "
                     f"{l['e2e_p50'] * 1000:.0f} | {t['e2e_p90'] * 1000:.0f} | {l['e2e_p90'] * 1000:.0f} | "
                     f"{t['ttft_p50'] * 1000:.0f} | {l['ttft_p50'] * 1000:.0f} |")
    table = "\n".join(lines) + "\n"
    print(table)
    if not args.no_write:
        path = ROOT / "benchmarks/RESULTS.md"
        text = path.read_text()
        # Newest first: before the first run's heading, below the file's header paragraphs.
        first_run = text.find("\n## ")
        path.write_text(text[:first_run + 1] + table + "\n" + text[first_run + 1:] if first_run >= 0 else text + "\n" + table)


if __name__ == "__main__":
    main()
