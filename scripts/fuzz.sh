#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan) and runs each for a while on seeds from
# real files. Usage: scripts/fuzz.sh [SECONDS_PER_TARGET]   (default 60)
# Crashes are written to build/fuzz/crashes/ and make the script fail.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
command -v clang++ >/dev/null || { echo "fuzz: needs clang (apt-get install clang libclang-rt-14-dev)" >&2; exit 1; }
cmake --preset fuzz >/dev/null
cmake --build build/fuzz --target gguf_fuzz chat_template_fuzz tokenizer_fuzz -j "$(nproc)"

seeds=build/fuzz/seeds
mkdir -p "$seeds/gguf" "$seeds/chat" "$seeds/text" build/fuzz/crashes
for f in ../shared/models/stories260K.gguf ../shared/models/invalid/*.gguf; do
  head -c 16384 "$f" >"$seeds/gguf/$(basename "$f")"
done
cp tests/data/chat/templates/*.jinja "$seeds/chat/"
cp ../shared/reference/tokenizer/*.inp "$seeds/text/"

run() {
  local target=$1 corpus=$2
  echo "fuzz: $target for ${seconds}s" >&2
  build/fuzz/tests/fuzz/$target "$corpus" -max_total_time="$seconds" -max_len=65536 -timeout=10 \
    -artifact_prefix=build/fuzz/crashes/"$target"- -print_final_stats=1 2>&1 | tail -n 3
}
run gguf_fuzz "$seeds/gguf"
run chat_template_fuzz "$seeds/chat"
run tokenizer_fuzz "$seeds/text"
if ls build/fuzz/crashes/* >/dev/null 2>&1; then
  echo "fuzz: crashes found in build/fuzz/crashes" >&2
  exit 1
fi
