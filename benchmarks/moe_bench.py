#!/usr/bin/env python3
"""Tandem against llama.cpp on synthetic mixture-of-experts and hybrid models (issue 16).

The real Qwen3-30B-A3B and Qwen3-Next-80B-A3B do not fit this machine, so `tandem synth` writes
their real layer shapes with fewer layers (--layers N) and the real vocabulary size. On each file,
in one run and with the same threads, both engines measure:

  pp      prompt processing of -p tokens in one batch     tandem bench-engine / llama-bench -p
  tg      generation of -n tokens one by one              tandem bench-engine / llama-bench -n
  batched 16 sequences after a 16-token prompt, decoding  tandem bench-engine -B / llama-batched-bench
          --parallel-gen steps together (aggregate tokens/s)

plus each process's peak RSS (wait4's ru_maxrss) against the file size and the sequence state.
A second file of the same preset and type with another layer count (--project-with) is measured
for tg alone: the difference gives the cost of one layer, the rest is the fixed cost (embedding
row, output norm and the 151936-row Q6_K output, the same tensors in every file here, so one pair
gives it for all). Each file's layers then cost (1/tg - fixed) / layers (qwen3next's 4 layers are
one whole block of its repeating 3 DeltaNet + 1 attention pattern), and the full 48-layer model
would reach 1 / (fixed + 48 x that). Bytes read per generated
token are counted from the file's tensors: every weight once, experts only in the fraction a token
is routed to (n_used / n_expert), one embedding row; against Tandem's measured read bandwidth.

Runs with the project's venv (gguf-py reads the tensor table):
  .venv/bin/python benchmarks/moe_bench.py -t 2 \\
      --model qwen3moe-30b-a3b:q4_0:4 --model qwen3moe-30b-a3b:q4_k_m:4 \\
      --model qwen3next-80b-a3b:q4_0:4 --model qwen3next-80b-a3b:q4_k_m:4 \\
      --project-with qwen3moe-30b-a3b:q4_0:1
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
FULL_LAYERS = {"qwen3moe-30b-a3b": 48, "qwen3next-80b-a3b": 48}
PATTERN = {"qwen3next-80b-a3b": 4}  # layers per repeating block (3 DeltaNet + 1 attention)


def run_with_rss(cmd, timeout):
    """Runs cmd; returns (stdout, the peak RSS of that process alone (os.wait4), seconds)."""
    start = time.monotonic()
    out_path = f"/tmp/moe_bench.{os.getpid()}.out"
    err_path = f"/tmp/moe_bench.{os.getpid()}.err"
    with open(out_path, "w") as out_f, open(err_path, "w") as err_f:
        proc = subprocess.Popen(cmd, stdout=out_f, stderr=err_f)
        deadline = start + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                proc.kill()
                os.wait4(proc.pid, 0)
                raise RuntimeError(f"timed out after {timeout} s: {shlex.join(cmd)}")
            time.sleep(0.05)
    proc.returncode = os.waitstatus_to_exitcode(status)
    out, err = open(out_path).read(), open(err_path).read()
    os.unlink(out_path)
    os.unlink(err_path)
    if proc.returncode != 0:
        raise RuntimeError(f"exit {proc.returncode}: {shlex.join(cmd)}\n{err[-2000:]}")
    return out, usage.ru_maxrss * 1024, time.monotonic() - start


def synth_path(args, spec):
    preset, qtype, layers = spec.split(":")
    path = os.path.join(args.synth_dir, f"{preset}-{layers}L.{qtype}.gguf")
    if not os.path.exists(path):
        os.makedirs(args.synth_dir, exist_ok=True)
        print(f"   synth {path}", file=sys.stderr)
        subprocess.run([args.tandem, "synth", "--preset", preset, "--type", qtype, "--layers", layers, path + ".tmp"],
                       check=True, cwd=ROOT)
        os.rename(path + ".tmp", path)
    return preset, qtype, int(layers), path


def bytes_per_token(path):
    """(fixed bytes, layer bytes, state bytes) one generated token reads at batch 1."""
    import gguf

    r = gguf.GGUFReader(path)
    arch = r.fields["general.architecture"].contents()
    n_expert = r.fields[f"{arch}.expert_count"].contents()
    n_used = r.fields[f"{arch}.expert_used_count"].contents()
    fixed = layers = 0.0
    n_recurrent_layers = 0
    for t in r.tensors:
        n = float(t.n_bytes)
        if t.name == "token_embd.weight":
            fixed += n / t.shape[-1]  # one row
        elif t.name.startswith("blk."):
            if "_exps." in t.name:
                n *= n_used / n_expert
            if t.name.endswith("ssm_a"):
                n_recurrent_layers += 1
            layers += n
        else:
            fixed += n
    state = 0.0
    if n_recurrent_layers:
        f = lambda k: r.fields[f"{arch}.ssm.{k}"].contents()
        d_v = f("inner_size") // f("time_step_rank")
        per_layer = 4 * (f("time_step_rank") * d_v * f("state_size")  # DeltaNet state
                         + (f("conv_kernel") - 1) * (2 * f("group_count") * f("state_size") + f("inner_size")))
        state = 2.0 * n_recurrent_layers * per_layer  # read and written once per token
    return fixed, layers, state


def run_tandem(args, path, n_prompt, n_gen, n_parallel):
    cmd = [args.tandem, "bench-engine", "-m", path, "-t", str(args.threads), "-p", str(n_prompt), "-n", str(n_gen),
           "-B", str(n_parallel), "--parallel-gen", str(args.parallel_gen), "-r", str(args.reps), "--json"]
    out, _, _ = run_with_rss(cmd, args.timeout)
    # Its own peak_rss_bytes is taken before its bandwidth test's 1 GiB buffer: the engine's alone.
    return json.loads(out.strip().splitlines()[-1])


def run_llama(args, path, n_prompt, n_gen, n_parallel):
    result = {}
    bench = os.path.join(args.llama_bin, "llama-bench")
    cmd = [bench, "-m", path, "-t", str(args.threads), "-p", str(n_prompt), "-n", str(n_gen), "-r", str(args.reps),
           "-o", "json"]
    out, rss, _ = run_with_rss(cmd, args.timeout)
    result["peak_rss_bytes"] = rss
    for row in json.loads(out):
        # The best repetition, as Tandem's figures are (llama-bench's avg_ts is their mean).
        best = max(row.get("samples_ts") or [row["avg_ts"]])
        if row.get("n_prompt", 0) > 0 and row.get("n_gen", 0) == 0:
            result["pp_tokens_per_s"] = best
        elif row.get("n_gen", 0) > 0 and row.get("n_prompt", 0) == 0:
            result["tg_tokens_per_s"] = best
        result["build"] = f"{row.get('build_commit', '?')} ({row.get('build_number', '?')})"
    if n_parallel > 0:
        prompt_len = 16
        n_ctx = n_parallel * (prompt_len + args.parallel_gen) + 64
        cmd = [os.path.join(args.llama_bin, "llama-batched-bench"), "-m", path, "-t", str(args.threads), "-tb",
               str(args.threads), "-c", str(n_ctx), "-b", "512", "-ub", "512", "-npp", str(prompt_len), "-ntg",
               str(args.parallel_gen), "-npl", str(n_parallel), "--output-format", "jsonl"]
        out, rss, _ = run_with_rss(cmd, args.timeout)
        result["peak_rss_bytes_batched"] = rss
        for line in out.splitlines():
            if line.startswith("{"):
                row = json.loads(line)
                result["batched_tokens_per_s"] = row["speed_tg"]
    return result


def ratio(a, b):
    return f"{a / b:.2f}x" if a and b else "-"


def mb(x):
    return f"{x / 1e6:.0f}"


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", action="append", default=[], help="PRESET:TYPE:LAYERS, made with tandem synth if missing")
    p.add_argument("--project-with", action="append", default=[],
                   help="PRESET:TYPE:LAYERS, a --model's preset and type at another depth, tg only: per-layer cost")
    p.add_argument("--synth-dir", default="/work/synth", help="where the synthetic models live (outside the repo)")
    p.add_argument("-t", "--threads", type=int, default=2)
    p.add_argument("-p", "--n-prompt", type=int, default=512)
    p.add_argument("-n", "--n-gen", type=int, default=64)
    p.add_argument("--parallel", type=int, default=16)
    p.add_argument("--parallel-gen", type=int, default=32)
    p.add_argument("-r", "--reps", type=int, default=2)
    p.add_argument("--timeout", type=int, default=1200, help="seconds per engine run")
    p.add_argument("--tandem", default=os.path.join(ROOT, "build/release/tools/tandem"))
    p.add_argument("--llama-bin", default="/work/llama-build/bin", help="llama-bench and llama-batched-bench")
    p.add_argument("--out", default=os.path.join(ROOT, "benchmarks/RESULTS.md"))
    p.add_argument("--no-write", action="store_true", help="print the section only")
    args = p.parse_args()

    load_before = os.getloadavg()
    started = datetime.datetime.now(datetime.timezone.utc)
    rows, deep = [], {}
    for spec in args.model:
        preset, qtype, layers, path = synth_path(args, spec)
        print(f"== {path}", file=sys.stderr)
        t = run_tandem(args, path, args.n_prompt, args.n_gen, args.parallel)
        print(f"   tandem: {json.dumps(t)}", file=sys.stderr)
        ll = run_llama(args, path, args.n_prompt, args.n_gen, args.parallel)
        print(f"   llama.cpp: {json.dumps(ll)}", file=sys.stderr)
        rows.append((preset, qtype, layers, path, t, ll))
    for spec in args.project_with:
        preset, qtype, layers, path = synth_path(args, spec)
        print(f"== {path} (tg only)", file=sys.stderr)
        t = run_tandem(args, path, 0, args.n_gen, 0)
        print(f"   tandem: {json.dumps(t)}", file=sys.stderr)
        ll = run_llama(args, path, 0, args.n_gen, 0)
        print(f"   llama.cpp: {json.dumps(ll)}", file=sys.stderr)
        deep[(preset, qtype)] = (layers, t, ll)
    load_after = os.getloadavg()

    bt = f"batched {args.parallel}x{args.parallel_gen}"
    lines = [
        f"| file | MB | pp{args.n_prompt} tandem | llama.cpp | ratio | tg{args.n_gen} tandem | llama.cpp | ratio "
        f"| {bt} tandem | llama.cpp | ratio | peak RSS MB tandem / llama-bench / batched-bench | file + state MB "
        f"| MB moved per token (weights read, DeltaNet state read + written) | tg % of bandwidth |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    bandwidth = rows[0][4]["bandwidth_bytes_per_s"] if rows else 0.0
    for preset, qtype, layers, path, t, ll in rows:
        fixed, layer_bytes, state = bytes_per_token(path)
        per_token = fixed + layer_bytes + state
        frac = per_token * t["tg_tokens_per_s"] / bandwidth if bandwidth else 0
        lines.append(
            f"| {os.path.basename(path)} | {mb(t['file_bytes'])} "
            f"| {t['pp_tokens_per_s']:.1f} | {ll.get('pp_tokens_per_s', 0):.1f} "
            f"| {ratio(t['pp_tokens_per_s'], ll.get('pp_tokens_per_s'))} "
            f"| {t['tg_tokens_per_s']:.2f} | {ll.get('tg_tokens_per_s', 0):.2f} "
            f"| {ratio(t['tg_tokens_per_s'], ll.get('tg_tokens_per_s'))} "
            f"| {t['batched_tokens_per_s']:.1f} | {ll.get('batched_tokens_per_s', 0):.1f} "
            f"| {ratio(t['batched_tokens_per_s'], ll.get('batched_tokens_per_s'))} "
            f"| {mb(t['peak_rss_bytes'])} / {mb(ll['peak_rss_bytes'])} / {mb(ll.get('peak_rss_bytes_batched', 0))} "
            f"| {mb(t['file_bytes'])} + {mb(t['kv_cache_bytes'])} "
            f"| {per_token / 1e6:.0f} | {100 * frac:.0f}% |")

    # The fixed cost (embedding row, output norm, the 151936 x 2048 Q6_K output) is the same tensor
    # set in every file here, so a file without its own deeper twin borrows another's.
    fixed_cost = {}
    for preset, qtype, layers, path, t, ll in rows:
        if (preset, qtype) in deep:
            deep_layers, dt, dl = deep[(preset, qtype)]
            for engine, small, big in (("tandem", t, dt), ("llama", ll, dl)):
                per_layer = (1 / big["tg_tokens_per_s"] - 1 / small["tg_tokens_per_s"]) / (deep_layers - layers)
                fixed_cost.setdefault(engine, (1 / small["tg_tokens_per_s"] - layers * per_layer, f"{preset} {qtype}"))
    proj = [
        "| file | ms per layer tandem / llama.cpp | fixed ms tandem / llama.cpp (from) "
        "| full 48-layer tg tok/s tandem / llama.cpp | ratio | full model MB moved per token | bandwidth-bound tok/s |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for preset, qtype, layers, path, t, ll in rows:
        fixed, layer_bytes, state = bytes_per_token(path)
        full = FULL_LAYERS.get(preset, layers)
        full_bytes = fixed + (layer_bytes + state) * full / layers
        bound = bandwidth / full_bytes if bandwidth else 0
        if "tandem" not in fixed_cost or layers % PATTERN.get(preset, 1) != 0:
            proj.append(f"| {os.path.basename(path)} | - | - | - | - | {full_bytes / 1e6:.0f} | {bound:.1f} |")
            continue
        out = []
        for engine, res in (("tandem", t), ("llama", ll)):
            fixed_s, source = fixed_cost[engine]
            per_layer = (1 / res["tg_tokens_per_s"] - fixed_s) / layers
            out.append((per_layer, fixed_s, 1 / (fixed_s + full * per_layer), source))
        (tl, tf, tfull, src), (ll_, lf, lfull, _) = out
        proj.append(
            f"| {os.path.basename(path)} | {1e3 * tl:.1f} / {1e3 * ll_:.1f} | {1e3 * tf:.1f} / {1e3 * lf:.1f} ({src}) "
            f"| {tfull:.2f} / {lfull:.2f} | {ratio(tfull, lfull)} | {full_bytes / 1e6:.0f} | {bound:.1f} |")

    command = shlex.join([os.path.relpath(sys.argv[0], ROOT)] + sys.argv[1:])
    llama_build = rows[0][5].get("build", "?") if rows else "?"
    section = [
        f"## {started.strftime('%Y-%m-%d %H:%M')} UTC — MoE and hybrid (issue 16), {args.threads} threads",
        "",
        f"Command: `{command}`",
        "",
        f"CPU: {platform.processor() or platform.machine()}, {os.cpu_count()} hardware threads; tandem kernels "
        f"{rows[0][4]['isa'] if rows else '?'}; llama.cpp {llama_build} (llama-bench, llama-batched-bench); "
        f"measured read bandwidth {bandwidth / 1e9:.1f} GB/s. Load average before / after: "
        f"{load_before[0]:.1f} / {load_after[0]:.1f}. Tokens/s, best of {args.reps} repetitions after a warm-up "
        f"for both (llama-bench's samples_ts; batched: llama-batched-bench's one run).",
        "",
    ] + lines + ["", "Per-layer cost and the full model (tg, batch 1):", ""] + proj + [""]
    print("\n".join(section))
    if args.no_write:
        return
    old = open(args.out).read() if os.path.exists(args.out) else ""
    head, sep, rest = old.partition("\n## ")
    with open(args.out, "w") as f:
        f.write(head.rstrip("\n") + "\n\n" + "\n".join(section) + ("\n## " + rest if sep else ""))


if __name__ == "__main__":
    main()
