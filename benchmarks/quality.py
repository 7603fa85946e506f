#!/usr/bin/env python3
"""Quantization quality, Tandem against llama.cpp, on the same inputs, text and context.

For each input model: an F16 base is made (by `tandem quantize --type f16` when the input is not
already F16/F32), then every requested type is made twice from that same base, once by
`tandem quantize` and once by llama-quantize (llama.cpp's llama_model_quantize, through the
llama-cpp-python build, which lives outside the project). Every file is then scored by both
engines: perplexity with llama-perplexity's chunking (Tandem: `tandem eval perplexity`; llama.cpp:
the same chunking computed here from llama-cpp-python's logits), plus Tandem's KL divergence and
top-1 agreement against the base. The table is printed as Markdown.

Run with the interpreter that has llama_cpp, from the repository root:

    /work/peer/venv/bin/python benchmarks/quality.py \
        --model models/SmolLM2-135M-Instruct.Q4_1.gguf --text tests/data/eval/stories.txt --ctx 256

Subcommands for single measurements: `ppl MODEL TEXT --ctx N` (llama.cpp perplexity) and
`quantize IN OUT TYPE` (llama-quantize).
"""

import argparse
import hashlib
import os
import re
import struct
import subprocess
import sys
import time

import numpy as np

TANDEM = os.environ.get("TANDEM_BIN", "build/release/tools/tandem")

# llama_ftype for each Tandem --type. Tandem's plain "q4_k" is compared with llama.cpp's Q4_K_S,
# the nearest file type (llama.cpp has no plain Q4_K file type: its "Q4_K" is an alias of Q4_K_M).
LLAMA_FTYPE = {"f16": 1, "q8_0": 7, "q4_0": 2, "q4_1": 3, "q5_0": 8, "q5_1": 9, "q4_k": 14, "q5_k": 16,
               "q6_k": 18, "q4_k_m": 15, "q5_k_m": 17}
LLAMA_NAME = {"q4_k": "Q4_K_S", "q5_k": "Q5_K_S"}


class quiet_stderr:
    """Silences the C library's per-tensor log lines (written straight to file descriptor 2)."""

    def __enter__(self):
        sys.stderr.flush()
        self.saved = os.dup(2)
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 2)
        os.close(null)

    def __exit__(self, *exc):
        os.dup2(self.saved, 2)
        os.close(self.saved)


def llama_quantize(src, dst, type_name, threads=0):
    import llama_cpp
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = LLAMA_FTYPE[type_name]
    params.nthread = threads
    params.allow_requantize = True
    with quiet_stderr():
        rc = llama_cpp.llama_model_quantize(src.encode(), dst.encode(), params)
    if rc != 0:
        raise RuntimeError(f"llama_model_quantize({src}, {type_name}) failed with {rc}")


def llama_perplexity(model, text, n_ctx, threads=None):
    """llama-perplexity's algorithm: BOS-tokenized text in n_ctx chunks, each chunk's first token
    replaced by BOS, the second half of each chunk scored. Returns (ppl, stderr, n_scored)."""
    from llama_cpp import Llama
    llm = Llama(model_path=model, n_ctx=n_ctx, n_batch=n_ctx, n_ubatch=n_ctx, logits_all=True, verbose=False,
                n_threads=threads or os.cpu_count())
    tokens = llm.tokenize(text.encode("utf-8"), add_bos=True, special=False)
    add_bos = tokens and tokens[0] == llm.token_bos()
    n_chunk = len(tokens) // n_ctx
    if len(tokens) < 2 * n_ctx:
        raise RuntimeError(f"{len(tokens)} tokens: need {2 * n_ctx}")
    first = n_ctx // 2
    nll = []
    for i in range(n_chunk):
        chunk = list(tokens[i * n_ctx:(i + 1) * n_ctx])
        if add_bos:
            chunk[0] = llm.token_bos()
        llm.reset()
        llm.eval(chunk)
        logits = np.array(llm.scores[:n_ctx], dtype=np.float32)
        for j in range(first, n_ctx - 1):
            row = logits[j]
            m = row.max()
            lse = np.log(np.exp((row - m).astype(np.float64)).sum())
            nll.append(-(float(row[tokens[i * n_ctx + j + 1]] - m) - lse))
    llm.close()
    nll = np.array(nll)
    mean = nll.mean()
    var = (nll ** 2).mean() - mean ** 2
    ppl = float(np.exp(mean))
    return ppl, float(np.sqrt(var / (len(nll) - 1)) * ppl), len(nll)


def tandem(*args):
    out = subprocess.run([TANDEM, *args], capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"tandem {' '.join(args)}: {out.stderr.strip()}")
    return out.stdout


def tandem_perplexity(model, text_path, n_ctx):
    out = tandem("eval", "perplexity", "-m", model, "-f", text_path, "--ctx", str(n_ctx))
    m = re.search(r"perplexity: ([0-9.]+) \+/- ([0-9.]+) over (\d+)", out)
    return float(m.group(1)), float(m.group(2)), int(m.group(3))


def tandem_compare(base, cand, text_path, n_ctx):
    out = tandem("eval", "compare", "--base", base, "--candidate", cand, "-f", text_path, "--ctx", str(n_ctx))
    kl = re.search(r"mean ([0-9.]+) \+/- [0-9.]+, p99 ([0-9.]+)", out)
    top1 = re.search(r"top-1 agreement:\s+([0-9.]+)%", out)
    return float(kl.group(1)), float(kl.group(2)), float(top1.group(1))


def gguf_tensors(path):
    """{name: (type, sha256 of data)} from a GGUF v3 file (a minimal reader for this check)."""
    with open(path, "rb") as f:
        data = f.read()
    off = 0

    def u32():
        nonlocal off
        v = struct.unpack_from("<I", data, off)[0]
        off += 4
        return v

    def u64():
        nonlocal off
        v = struct.unpack_from("<Q", data, off)[0]
        off += 8
        return v

    def string():
        nonlocal off
        n = u64()
        s = data[off:off + n].decode("utf-8", "replace")
        off += n
        return s

    sizes = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}

    def skip_value(t):
        nonlocal off
        if t == 8:
            string()
        elif t == 9:
            et = u32()
            n = u64()
            for _ in range(n):
                skip_value(et)
        else:
            off += sizes[t]

    assert data[:4] == b"GGUF"
    off = 8
    n_tensors = u64()
    n_kv = u64()
    alignment = 32
    for _ in range(n_kv):
        key = string()
        t = u32()
        if key == "general.alignment":
            alignment = struct.unpack_from("<I", data, off)[0]
        skip_value(t)
    infos = []
    for _ in range(n_tensors):
        name = string()
        nd = u32()
        dims = [u64() for _ in range(nd)]
        t = u32()
        o = u64()
        infos.append((name, t, dims, o))
    base = (off + alignment - 1) // alignment * alignment
    offsets = sorted(o for _, _, _, o in infos) + [len(data) - base]
    result = {}
    for name, t, dims, o in infos:
        nxt = min(x for x in offsets if x > o) if any(x > o for x in offsets) else len(data) - base
        # The padding after a tensor is zeros in both writers, so hashing up to the next tensor is fair.
        result[name] = (t, hashlib.sha256(data[base + o:base + nxt].rstrip(b"\0")).hexdigest())
    return result


def identical_tensors(a, b):
    ta, tb = gguf_tensors(a), gguf_tensors(b)
    same = sum(1 for k in ta if k in tb and ta[k] == tb[k])
    same_type = sum(1 for k in ta if k in tb and ta[k][0] == tb[k][0])
    return same, same_type, len(ta)


def run_table(args):
    text = open(args.text, encoding="utf-8").read()
    os.makedirs(args.work, exist_ok=True)
    rows = []
    for model in args.model:
        stem = os.path.splitext(os.path.basename(model))[0]
        base = os.path.join(args.work, stem + ".f16.gguf")
        if not os.path.exists(base):
            tandem("quantize", model, base, "--type", "f16", "-q")
        base_size = os.path.getsize(base)
        t_ppl = tandem_perplexity(base, args.text, args.ctx)
        l_ppl = llama_perplexity(base, text, args.ctx)
        rows.append((stem, "f16 (base)", "tandem", base_size, base_size, t_ppl, l_ppl, None, None, ""))
        for type_name in args.types:
            files = {}
            for who in ("tandem", "llama.cpp"):
                out = os.path.join(args.work, f"{stem}.{type_name}.{who.replace('.', '')}.gguf")
                start = time.time()
                if who == "tandem":
                    tandem("quantize", base, out, "--type", type_name, "-q")
                else:
                    llama_quantize(base, out, type_name)
                secs = time.time() - start
                files[who] = out
                t = tandem_perplexity(out, args.text, args.ctx)
                l = llama_perplexity(out, text, args.ctx)
                kl, p99, top1 = tandem_compare(base, out, args.text, args.ctx)
                label = type_name if who == "tandem" else LLAMA_NAME.get(type_name, type_name.upper())
                rows.append((stem, label, who, os.path.getsize(out), base_size, t, l, (kl, p99, top1), secs, ""))
                print(f"{stem} {label} {who}: {os.path.getsize(out)} bytes, tandem ppl {t[0]:.4f}, "
                      f"llama.cpp ppl {l[0]:.4f}, KL {kl:.5f}, top-1 {top1:.2f}%", file=sys.stderr)
            same, same_type, n = identical_tensors(files["tandem"], files["llama.cpp"])
            rows[-1] = rows[-1][:-1] + (f"{same}/{n} tensors bit-identical, {same_type}/{n} same type",)
    print_table(rows, args)


def print_table(rows, args):
    print(f"Text: `{args.text}`, context {args.ctx}. PPL: perplexity ± standard error; "
          "Δ engines: Tandem's PPL / llama.cpp's PPL − 1 on the same file.\n")
    print("| model | type | quantizer | size (MiB) | × F16 | PPL, Tandem engine | PPL, llama.cpp | Δ engines | "
          "KL mean / p99 vs F16 | top-1 vs F16 | time (s) | files compared |")
    print("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for stem, label, who, size, base_size, t, l, cmp, secs, note in rows:
        kl = f"{cmp[0]:.5f} / {cmp[1]:.5f}" if cmp else "—"
        top1 = f"{cmp[2]:.2f}%" if cmp else "—"
        print(f"| {stem} | {label} | {who} | {size / 2**20:.2f} | {size / base_size:.3f} | "
              f"{t[0]:.4f} ± {t[1]:.4f} | {l[0]:.4f} ± {l[1]:.4f} | {100 * (t[0] / l[0] - 1):+.3f}% | {kl} | {top1} | "
              f"{'—' if secs is None else f'{secs:.1f}'} | {note} |")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd")
    p = sub.add_parser("ppl")
    p.add_argument("model")
    p.add_argument("text")
    p.add_argument("--ctx", type=int, default=512)
    q = sub.add_parser("quantize")
    q.add_argument("input")
    q.add_argument("output")
    q.add_argument("type", choices=sorted(LLAMA_FTYPE))
    ap.add_argument("--model", action="append", default=[])
    ap.add_argument("--text", default="tests/data/eval/stories.txt")
    ap.add_argument("--ctx", type=int, default=256)
    ap.add_argument("--types", nargs="+", default=["q8_0", "q4_0", "q4_k", "q4_k_m"])
    ap.add_argument("--work", default="build/quality")
    args = ap.parse_args()
    if args.cmd == "ppl":
        ppl, se, n = llama_perplexity(args.model, open(args.text, encoding="utf-8").read(), args.ctx)
        print(f"perplexity: {ppl:.4f} +/- {se:.5f} over {n} tokens")
    elif args.cmd == "quantize":
        llama_quantize(args.input, args.output, args.type)
    else:
        if not args.model:
            ap.error("--model is required")
        run_table(args)


if __name__ == "__main__":
    main()
