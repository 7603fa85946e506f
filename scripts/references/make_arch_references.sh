#!/usr/bin/env bash
# Regenerates tests/data/arch/: llama.cpp's tiny random-weight test models (tests/test-llama-archs.cpp
# with -o) and llama.cpp's per-position top-10 logits on three random sequences of each
# (llama_logits.cpp beside this script). llama.cpp stays outside this repository: give its source tree
# and a build of it that has the test-llama-archs target, e.g.
#   cmake -S LLAMA_SRC -B LLAMA_BUILD -G Ninja -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=ON \
#         -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=ON && ninja -C LLAMA_BUILD test-llama-archs
#   scripts/references/make_arch_references.sh LLAMA_SRC LLAMA_BUILD [ARCH...]
# The Python step needs the `gguf` package (the project's .venv has it: run with .venv/bin on PATH).
# Seeds are fixed (weights: test-llama-archs -s 42, stdev 0.1; token ids: 42 + sequence index), so a
# rerun with the same llama.cpp rewrites the same files.
set -euo pipefail

if [[ $# -lt 2 ]]; then
  echo "usage: $0 LLAMA_SRC LLAMA_BUILD [ARCH...]" >&2
  exit 2
fi
src=$(realpath "$1")
build=$(realpath "$2")
shift 2
archs=("$@")
[[ ${#archs[@]} -gt 0 ]] || archs=(llama qwen2 qwen3 gemma3 qwen3moe qwen3next qwen2moe)

root=$(cd "$(dirname "$0")/../.." && pwd)
out="$root/tests/data/arch"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$out"

tool="$work/llama_logits"
c++ -O2 -std=c++17 "$root/scripts/references/llama_logits.cpp" -o "$tool" \
  -I "$src/include" -I "$src/ggml/include" -L "$build/bin" -lllama -lggml -lggml-base \
  -Wl,-rpath,"$build/bin"

for arch in "${archs[@]}"; do
  "$build/bin/test-llama-archs" -a "$arch" -s 42 -o "$work" >/dev/null
  # The generator writes ARCH-dense.gguf and, where the architecture has a MoE form, ARCH-moe.gguf
  # (only that one for qwen3moe and qwen3next): keep the dense file where there is one.
  f="$work/$arch-dense.gguf"
  [[ -f $f ]] || f="$work/$arch-moe.gguf"
  name=$(basename "$f" .gguf)
  cp "$f" "$out/$name.gguf"
  "$tool" "$out/$name.gguf" --lengths 8,32,64 --seed 42 --top 10 > "$out/$name.logits.json"
  echo "$out/$name.gguf: $(stat -c %s "$out/$name.gguf") bytes, references in $name.logits.json"
  # llama's MoE form is Mixtral's layout (llama with experts): kept beside the dense file.
  if [[ $arch == llama ]]; then
    cp "$work/llama-moe.gguf" "$out/llama-moe.gguf"
    "$tool" "$out/llama-moe.gguf" --lengths 8,32,64 --seed 42 --top 10 > "$out/llama-moe.logits.json"
  fi
  # Top-1 variants of the two-expert files whose router would otherwise choose nothing
  # (moe_top1_variant.py): only the references are kept; the tests write the variant again from
  # the committed file (same weights and metadata), which saves 15 MB of test data.
  for moe in llama qwen2moe; do
    [[ $arch == "$moe" ]] || continue
    python3 "$root/scripts/references/moe_top1_variant.py" "$out/$moe-moe.gguf" "$work/$moe-top1.gguf"
    "$tool" "$work/$moe-top1.gguf" --lengths 8,32,64 --seed 42 --top 10 > "$out/$moe-top1.logits.json"
  done
  # The plain variant: what a real converted file of the architecture carries (plain_variant.py).
  if [[ $arch != qwen3next && $arch != qwen2moe ]]; then
    python3 "$root/scripts/references/plain_variant.py" "$out/$name.gguf" "$out/$arch-plain.gguf"
    "$tool" "$out/$arch-plain.gguf" --lengths 8,32,64 --seed 42 --top 10 > "$out/$arch-plain.logits.json"
    echo "$out/$arch-plain.gguf: $(stat -c %s "$out/$arch-plain.gguf") bytes"
  fi
done
