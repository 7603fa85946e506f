#!/usr/bin/env python3
"""The gateway's link to its backend over HTTP and over gRPC (issue 14), on loopback.

Two `tandem serve` on the demo model serving both protocols (network.protocol "both", 16
parallel sequences; the second with network.grpc_compression "none"), and three gateways: an HTTP
link and a gRPC link with gzip (the defaults) to the first, a gRPC link with "compression": "none"
to the second. Each link runs through a byte-counting TCP
pass-through (tests/integration/grpc/byte_counter.py), so the bytes on the link per request are
measured, both ways. Streamed chat replies (--max-tokens tokens, temperature 0.7, a seed per
request) at 1 and 16 clients; the targets alternate over --rounds rounds and each keeps its best
round. Reports time to first token and end-to-end p50, requests/s and bytes per request.
Writes a section into benchmarks/RESULTS.md unless --no-write.

  .venv/bin/python benchmarks/grpc_link_bench.py
"""

import argparse
import datetime
import json
import os
import shlex
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "tests/integration/grpc"))
from byte_counter import ByteCounter  # noqa: E402
from gateway_bench import Processes, free_port, throughput, wait_health, write_results  # noqa: E402


def backend(procs: Processes, model: Path, compression: str = "gzip"):
    port, grpc_port = free_port(), free_port()
    cfg = procs.workdir / f"backend-{port}.json"
    cfg.write_text(json.dumps({
        "network": {"bind_address": "127.0.0.1", "port": port, "protocol": "both", "grpc_port": grpc_port,
                    "grpc_compression": compression},
        "model": {"path": str(model.resolve()), "context_size": 2048, "max_batch_size": 16},
        "server": {"max_concurrent_requests": 256},
        "logging": {"level": "warn"},
    }))
    proc = procs.spawn([procs.binary, "serve", "--config", str(cfg)], f"backend-{port}.log")
    wait_health(port, proc, f"backend on {model.name}")
    return port, grpc_port


def gateway(procs: Processes, link: dict):
    port = free_port()
    cfg = procs.workdir / f"gateway-{port}.json"
    cfg.write_text(json.dumps({
        "network": {"bind_address": "127.0.0.1", "port": port},
        "links": [dict(name="backend", **link)],
        "security": {"api_keys": []},
        "logging": {"level": "warn"},
    }))
    proc = procs.spawn([procs.binary, "gateway", "--config", str(cfg)], f"gateway-{port}.log")
    wait_health(port, proc, "tandem gateway")
    return port


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", default=os.environ.get("TANDEM_BINARY", str(ROOT / "build/release/tools/tandem")))
    ap.add_argument("--model", default=str(ROOT / "models/SmolLM2-135M-Instruct.Q4_1.gguf"))
    ap.add_argument("--clients", type=lambda s: [int(x) for x in s.split(",")], default=[1, 16])
    ap.add_argument("--requests", type=int, default=48, help="per measurement at 16 clients (a third at 1)")
    ap.add_argument("--max-tokens", type=int, default=32)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    model = Path(args.model)
    model_id = model.name.removesuffix(".gguf")
    procs = Processes(args.binary, Path(tempfile.mkdtemp(prefix="grpc-link-bench-")))
    counters = []
    try:
        http_port, grpc_port = backend(procs, model)
        _, plain_grpc_port = backend(procs, model, "none")  # answers uncompressed
        targets = {}
        for name, protocol, compression, upstream in (("HTTP link", "http", None, http_port),
                                                      ("gRPC link, gzip", "grpc", "gzip", grpc_port),
                                                      ("gRPC link, no gzip", "grpc", "none", plain_grpc_port)):
            counter = ByteCounter(upstream)
            counters.append(counter)
            link = {"url": f"http://127.0.0.1:{counter.port}", "protocol": protocol}
            if compression:
                link["compression"] = compression
            targets[name] = (gateway(procs, link), counter)
        results = {}
        for clients in args.clients:
            n = args.requests if clients > 1 else max(4, args.requests // 3)
            for rnd in range(args.rounds):
                order = list(targets) if rnd % 2 == 0 else list(reversed(targets))
                for name in order:
                    port, counter = targets[name]
                    throughput(port, model_id, clients, 2, args.max_tokens)  # warm
                    counter.reset()
                    r = throughput(port, model_id, clients, n, args.max_tokens)
                    r["up"], r["down"] = counter.up / n, counter.down / n
                    best = results.get((name, clients))
                    if best is None or r["rps"] > best["rps"]:
                        results[(name, clients)] = r
        for (name, clients), r in results.items():
            print(f"{name:20s} {clients:2d} clients: {r}", flush=True)
        command = "  .venv/bin/python benchmarks/grpc_link_bench.py " + " ".join(shlex.quote(a) for a in sys.argv[1:])
        now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        lines = [f"## {now} — gateway link: HTTP vs gRPC, {model.name}, {args.max_tokens}-token streamed chat",
                 "", "```", command.rstrip(), "```", "",
                 "| link | clients | TTFT p50 | end-to-end p50 | req/s | link bytes/request up | down | failures |",
                 "|---|---:|---:|---:|---:|---:|---:|---:|"]
        for (name, clients), r in sorted(results.items(), key=lambda kv: (kv[0][1], list(targets).index(kv[0][0]))):
            lines.append(f"| {name} | {clients} | {r['ttft_p50'] * 1000:.1f} ms | {r['e2e_p50'] * 1000:.1f} ms | "
                         f"{r['rps']:.2f} | {r['up']:.0f} | {r['down']:.0f} | {r['failures']} |")
        lines += ["", "Bytes are counted on the link (gateway <-> backend) by a TCP pass-through, both ways, divided "
                  "by the requests; the gateway's HTTP link never asks for gzip, so HTTP has one row per load. "
                  "Loopback on a shared 2-core machine: compare rows of one run only.", ""]
        section = "\n".join(lines)
        print(section)
        if not args.no_write:
            write_results(section)
    finally:
        for c in counters:
            c.close()
        procs.stop_all()


if __name__ == "__main__":
    main()
