#!/usr/bin/env python3
"""Tandem's server against llama.cpp's llama-server: same model file, same threads, one run, one
measuring tool (`tandem bench`) for both.

Both servers run on loopback with 16 parallel sequences (continuous batching) and 2 threads.
`tandem bench --stream` drives each with 16-token streamed chat replies at 1, 4, 16 and 32
concurrent requests (the same requests per level for both: max(16, 3 x the largest level)), after
a short warm-up. With --rounds N the two servers take turns N times (this shared machine's speed
drifts over minutes) and each level reports each server's best round. The 1-minute load average is
sampled before and after each server's turn and written beside the table (other jobs on the machine
slow both). The script writes both HTML reports beside each other (--reports DIR) and puts a table
of requests/s, output tokens/s, median and p95 end-to-end latency and median time to first token,
with its command, at the top of benchmarks/RESULTS.md.

llama-server is built from llama.cpp's source outside this repository (for example from the
llama-cpp-python sdist's vendor/llama.cpp with cmake, target llama-server) and passed with
--llama-server.

  .venv/bin/python benchmarks/server_vs_llama_cpp.py --llama-server /work/peer/build/bin/llama-server
"""

import argparse
import datetime
import importlib.util
import os
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("server_bench", ROOT / "benchmarks/server_bench.py")
server_bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(server_bench)

PARALLEL = 16


def start_llama(args):
    port = server_bench.free_port()
    proc = subprocess.Popen(
        [args.llama_server, "-m", args.model, "--host", "127.0.0.1", "--port", str(port), "-t", str(args.threads),
         "-tb", str(args.threads), "-np", str(PARALLEL), "-c", str(args.context * PARALLEL), "--log-disable"]
        + shlex.split(args.llama_args),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    server_bench.wait_ready(proc, url, "llama-server")
    return proc, url


def start_tandem(args):
    return server_bench.start_tandem(args.binary, args.model, args.context, PARALLEL, threads=args.threads)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--llama-server", required=True)
    ap.add_argument("--binary", default=str(ROOT / "build/release/tools/tandem"))
    ap.add_argument("--model", default=str(ROOT / "models/SmolLM2-135M-Instruct.Q4_1.gguf"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--context", type=int, default=1024, help="tokens per sequence")
    ap.add_argument("--clients", default="1,4,16,32")
    ap.add_argument("--max-tokens", type=int, default=16)
    ap.add_argument("--requests", type=int, help="requests per level (default: max(16, 3 x the largest level))")
    ap.add_argument("--reports", default=str(ROOT / "build/bench-reports"), help="folder for the HTML reports")
    ap.add_argument("--llama-args", default="", help="extra llama-server arguments, e.g. \"--poll 0\"")
    ap.add_argument("--rounds", type=int, default=1, help="turns each server takes, alternating; best kept")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()

    levels = [int(c) for c in args.clients.split(",")]
    n_requests = args.requests or max(16, 3 * max(levels))
    reports = Path(args.reports)
    reports.mkdir(parents=True, exist_ok=True)
    results = {"tandem": {}, "llama.cpp": {}}
    loads = {"tandem": [], "llama.cpp": []}  # (1-minute load average before, after) per turn
    for turn in range(args.rounds):
        for name, start in (("tandem", start_tandem), ("llama.cpp", start_llama)):
            proc, url = start(args)
            try:
                before = os.getloadavg()[0]
                server_bench.run_bench(args.binary, url, "1", 4, args.max_tokens)  # warm-up, not reported
                html = reports / f"server-{name}-{turn + 1}.html"
                for level in server_bench.run_bench(args.binary, url, args.clients, n_requests, args.max_tokens,
                                                    html=str(html))["levels"]:
                    best = results[name].get(level["concurrency"])
                    if best is None or level["req_per_s"] > best["req_per_s"]:
                        results[name][level["concurrency"]] = level
                loads[name].append((before, os.getloadavg()[0]))
                print(f"{name} round {turn + 1}: report in {html}", flush=True)
            finally:
                proc.terminate()
                proc.wait(timeout=30)

    for name in results:
        for c, level in results[name].items():
            if level["errors"]:
                print(f"warning: {name} at {c} clients: {level['errors']} errors {level['errors_by_kind']}",
                      file=sys.stderr)
    lines = [f"## {datetime.datetime.now():%Y-%m-%d %H:%M} — server, {Path(args.model).name}, {args.threads} threads",
             "", "Command: `" + " ".join(shlex.quote(a) for a in ["benchmarks/server_vs_llama_cpp.py"] + sys.argv[1:]) + "`",
             "", f"Both servers: {PARALLEL} parallel sequences, {args.context} tokens of context each, "
             f"{args.max_tokens}-token streamed chat replies, {n_requests} requests per level, measured by "
             "`tandem bench --stream` (32-word prompts)"
             + (f"; best of {args.rounds} alternating rounds per level." if args.rounds > 1 else "."), "",
             "1-minute load average before -> after each turn (other jobs on this machine): "
             + "; ".join(f"{name} " + ", ".join(f"{a:.1f} -> {b:.1f}" for a, b in loads[name]) for name in loads)
             + f" ({os.cpu_count()} hardware threads).", "",
             "| clients | req/s tandem | req/s llama.cpp | ratio | out tok/s tandem | llama.cpp | median e2e ms tandem | llama.cpp | p95 e2e ms tandem | llama.cpp | median TTFT ms tandem | llama.cpp | errors tandem / llama.cpp |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]

    def ms(level, key, p):
        value = level[key][p]
        return "–" if value is None else f"{value:.0f}"

    for c in levels:
        t, l = results["tandem"][c], results["llama.cpp"][c]
        ratio = f"{t['req_per_s'] / l['req_per_s']:.2f}x" if l["req_per_s"] else "–"
        lines.append(f"| {c} | {t['req_per_s']:.1f} | {l['req_per_s']:.1f} | {ratio} | "
                     f"{t['output_tokens_per_s']:.0f} | {l['output_tokens_per_s']:.0f} | "
                     f"{ms(t, 'e2e_ms', 'p50')} | {ms(l, 'e2e_ms', 'p50')} | {ms(t, 'e2e_ms', 'p95')} | "
                     f"{ms(l, 'e2e_ms', 'p95')} | {ms(t, 'ttft_ms', 'p50')} | {ms(l, 'ttft_ms', 'p50')} | "
                     f"{t['errors']} / {l['errors']} |")
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
