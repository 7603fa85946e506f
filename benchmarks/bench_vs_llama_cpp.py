#!/usr/bin/env python3
"""Tandem against llama.cpp on the same GGUF files, the same threads, in one run.

llama.cpp comes from the llama-cpp-python package (built outside this project; pass its Python
with --llama-python, default /work/peer/venv/bin/python). For every model the script measures,
for both engines: prompt processing of -p tokens in one batch (pp), generation of -n tokens one
by one from an empty context (tg), and decoding of --parallel sequences at once (aggregate
tokens/s). Tandem's run also measures the memory read bandwidth and the fraction of it batch-1
generation reaches. The table and the command that made it are written to --out (RESULTS.md).
On a shared machine whose speed drifts (this one's varies by up to 30% over minutes), --rounds N
runs the engines in turn N times and keeps each figure's best.

  benchmarks/bench_vs_llama_cpp.py --synth tinyllama-1.1b:q4_0 --synth smollm2-135m:q4_k_m \
      --model models/SmolLM2-135M-Instruct.Q4_1.gguf -t 2
"""

import argparse
import datetime
import json
import os
import platform
import shlex
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Runs inside the llama-cpp-python interpreter: prints one JSON object.
LLAMA_WORKER = r'''
import ctypes, json, resource, sys, time
import llama_cpp as L

path, threads, n_prompt, n_gen, n_parallel, parallel_gen, reps = sys.argv[1:8]
threads, n_prompt, n_gen, n_parallel, parallel_gen, reps = map(int, (threads, n_prompt, n_gen, n_parallel, parallel_gen, reps))
L.llama_backend_init()
mp = L.llama_model_default_params()
mp.n_gpu_layers = 0
model = L.llama_model_load_from_file(path.encode(), mp)
vocab = L.llama_model_get_vocab(model)
n_vocab = L.llama_vocab_n_tokens(vocab)

def make_ctx(n_ctx, n_batch, n_seq):
    cp = L.llama_context_default_params()
    cp.n_ctx = n_ctx
    cp.n_batch = n_batch
    cp.n_ubatch = n_batch
    cp.n_seq_max = n_seq
    cp.n_threads = threads
    cp.n_threads_batch = threads
    cp.no_perf = True
    return L.llama_init_from_model(model, cp)

def fill(batch, items):
    # items: (token, pos, seq, want_logits)
    for i, (tok, pos, seq, logits) in enumerate(items):
        batch.token[i] = tok
        batch.pos[i] = pos
        batch.n_seq_id[i] = 1
        batch.seq_id[i][0] = seq
        batch.logits[i] = 1 if logits else 0
    batch.n_tokens = len(items)

def tokens(n, seed):
    x = seed * 2654435761 % 2**32
    out = []
    for _ in range(n):
        x = (1103515245 * x + 12345) % 2**31
        out.append(x % n_vocab)
    return out

result = {}
ctx = make_ctx(max(n_prompt, n_gen) + 16, max(n_prompt, 1), 1)
mem = L.llama_get_memory(ctx)
batch = L.llama_batch_init(max(n_prompt, n_parallel, 1), 0, 1)
if n_prompt > 0:
    prompt = tokens(n_prompt, 1)
    best = 0.0
    for r in range(reps + 1):
        L.llama_memory_clear(mem, True)
        fill(batch, [(t, i, 0, i == n_prompt - 1) for i, t in enumerate(prompt)])
        start = time.perf_counter()
        assert L.llama_decode(ctx, batch) == 0
        tps = n_prompt / (time.perf_counter() - start)
        if r > 0:
            best = max(best, tps)
    result["pp_tokens_per_s"] = best
if n_gen > 0:
    gen = tokens(n_gen, 2)
    best = 0.0
    for r in range(reps + 1):
        L.llama_memory_clear(mem, True)
        start = time.perf_counter()
        for i, t in enumerate(gen):
            fill(batch, [(t, i, 0, True)])
            assert L.llama_decode(ctx, batch) == 0
        tps = n_gen / (time.perf_counter() - start)
        if r > 0 or reps == 1:
            best = max(best, tps)
    result["tg_tokens_per_s"] = best
L.llama_batch_free(batch)
L.llama_free(ctx)
if n_parallel > 0:
    prompt_len = 16
    per_seq = prompt_len + parallel_gen + 8
    ctx = make_ctx(per_seq * n_parallel, max(n_parallel, prompt_len), n_parallel)
    mem = L.llama_get_memory(ctx)
    batch = L.llama_batch_init(max(n_parallel, prompt_len), 0, 1)
    toks = tokens(prompt_len + parallel_gen, 3)
    best = 0.0
    for r in range(min(reps, 2)):
        L.llama_memory_clear(mem, True)
        for s in range(n_parallel):
            fill(batch, [(t, i, s, i == prompt_len - 1) for i, t in enumerate(toks[:prompt_len])])
            assert L.llama_decode(ctx, batch) == 0
        start = time.perf_counter()
        for i in range(parallel_gen):
            fill(batch, [(toks[prompt_len + i], prompt_len + i, s, True) for s in range(n_parallel)])
            assert L.llama_decode(ctx, batch) == 0
        best = max(best, n_parallel * parallel_gen / (time.perf_counter() - start))
    result["batched_tokens_per_s"] = best
    L.llama_batch_free(batch)
    L.llama_free(ctx)
result["peak_rss_bytes"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
result["version"] = getattr(L, "__version__", "?")
print(json.dumps(result))
'''


def run_tandem(args, model):
    cmd = [args.tandem, "bench-engine", "-m", model, "-t", str(args.threads), "-p", str(args.n_prompt), "-n",
           str(args.n_gen), "-B", str(args.parallel), "--parallel-gen", str(args.parallel_gen), "-r", str(args.reps),
           "--json"]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def run_llama(args, model):
    cmd = [args.llama_python, "-c", LLAMA_WORKER, model, str(args.threads), str(args.n_prompt), str(args.n_gen),
           str(args.parallel), str(args.parallel_gen), str(args.reps)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def best_of(results):
    """Each speed at its best over the rounds; tg's bandwidth figures from tg's best round; RSS at its worst."""
    best = dict(max(results, key=lambda r: r.get("tg_tokens_per_s", 0)))
    for key in ("pp_tokens_per_s", "batched_tokens_per_s"):
        best[key] = max(r.get(key, 0) for r in results)
    best["peak_rss_bytes"] = max(r["peak_rss_bytes"] for r in results)
    return best


def synth(args, spec):
    preset, qtype = spec.split(":")
    path = os.path.join(args.synth_dir, f"{preset}.{qtype}.gguf")
    if not os.path.exists(path):
        os.makedirs(args.synth_dir, exist_ok=True)
        subprocess.run([args.tandem, "synth", "--preset", preset, "--type", qtype, path], check=True, cwd=ROOT)
    return path


def ratio(a, b):
    return f"{a / b:.2f}x" if a and b else "-"


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", action="append", default=[], help="GGUF file (repeatable)")
    p.add_argument("--synth", action="append", default=[], help="PRESET:TYPE made with `tandem synth` (repeatable)")
    p.add_argument("--synth-dir", default="/work/peer/models", help="where synthetic models are written (outside the repo)")
    p.add_argument("-t", "--threads", type=int, default=2)
    p.add_argument("-p", "--n-prompt", type=int, default=512)
    p.add_argument("-n", "--n-gen", type=int, default=128)
    p.add_argument("--parallel", type=int, default=16)
    p.add_argument("--parallel-gen", type=int, default=32)
    p.add_argument("-r", "--reps", type=int, default=3)
    p.add_argument("--rounds", type=int, default=1,
                   help="alternate the two engines this many times and keep each figure's best")
    p.add_argument("--tandem", default=os.path.join(ROOT, "build/release/tools/tandem"))
    p.add_argument("--llama-python", default="/work/peer/venv/bin/python")
    p.add_argument("--out", default=os.path.join(ROOT, "benchmarks/RESULTS.md"))
    args = p.parse_args()

    models = [synth(args, s) for s in args.synth] + args.model
    rows = []
    for model in models:
        print(f"== {model}", file=sys.stderr)
        # The engines take turns, so that a slow spell of a shared machine hits both alike.
        ts, ls = [], []
        for _ in range(args.rounds):
            ts.append(run_tandem(args, model))
            print(f"   tandem: {json.dumps(ts[-1])}", file=sys.stderr)
            ls.append(run_llama(args, model))
            print(f"   llama.cpp: {json.dumps(ls[-1])}", file=sys.stderr)
        rows.append((model, best_of(ts), best_of(ls)))

    pp, tg, bt = f"pp{args.n_prompt}", f"tg{args.n_gen}", f"batched {args.parallel}x{args.parallel_gen}"
    lines = [
        f"| model | size MB | {pp} tandem | {pp} llama.cpp | ratio | {tg} tandem | {tg} llama.cpp | ratio "
        f"| tg % of bandwidth | {bt} tandem | llama.cpp | ratio | RSS MB tandem / llama.cpp |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for model, t, l in rows:
        lines.append(
            f"| {os.path.basename(model)} | {t['file_bytes'] / 1e6:.0f} "
            f"| {t['pp_tokens_per_s']:.1f} | {l.get('pp_tokens_per_s', 0):.1f} | {ratio(t['pp_tokens_per_s'], l.get('pp_tokens_per_s'))} "
            f"| {t['tg_tokens_per_s']:.1f} | {l.get('tg_tokens_per_s', 0):.1f} | {ratio(t['tg_tokens_per_s'], l.get('tg_tokens_per_s'))} "
            f"| {100 * t['tg_bandwidth_fraction']:.0f}% "
            f"| {t['batched_tokens_per_s']:.1f} | {l.get('batched_tokens_per_s', 0):.1f} | {ratio(t['batched_tokens_per_s'], l.get('batched_tokens_per_s'))} "
            f"| {t['peak_rss_bytes'] / 1e6:.0f} / {l['peak_rss_bytes'] / 1e6:.0f} |")
    bandwidth = rows[0][1]["bandwidth_gb_per_s"] if rows else 0
    command = " ".join(shlex.quote(a) for a in [os.path.relpath(sys.argv[0], ROOT)] + sys.argv[1:])
    section = [
        f"## {datetime.datetime.now().strftime('%Y-%m-%d %H:%M')} — {args.threads} threads",
        "",
        f"Command: `{command}`",
        "",
        f"CPU: {platform.processor() or platform.machine()}, {os.cpu_count()} hardware threads; tandem kernels: "
        f"{rows[0][1]['isa'] if rows else '?'}; llama-cpp-python {rows[0][2].get('version', '?') if rows else '?'}; "
        f"measured memory read bandwidth {bandwidth:.1f} GB/s. Tokens/s, best of {args.reps} runs after a warm-up"
        + (f", in each of {args.rounds} rounds that alternate the engines." if args.rounds > 1 else "."),
        "",
    ] + lines + [""]
    header = (
        "# Tandem vs llama.cpp on CPU\n\nWritten by `benchmarks/bench_vs_llama_cpp.py`; newest run first.\n\n"
        "This machine is a shared host whose speed drifts by up to 30% over minutes; in its slow spells\n"
        "Tandem's compute-bound kernels lose more than llama.cpp's (SmolLM2-shaped Q4_0 pp512: 1.42x\n"
        "slow, 1.73x fast, in runs minutes apart). Runs with --rounds alternate the engines and keep\n"
        "each figure's best.\n\n"
    )
    old = ""
    if os.path.exists(args.out):
        old = open(args.out).read()
        if old.startswith(header):
            old = old[len(header):]
    with open(args.out, "w") as f:
        f.write(header + "\n".join(section) + "\n" + old)
    print("\n".join(section))


if __name__ == "__main__":
    main()
