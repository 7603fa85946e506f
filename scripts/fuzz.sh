#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (preset fuzz: ASan + UBSan) and runs each for a while, so
# that a parser crash, a hang or a leak found by mutation fails CI (scripts/test.sh runs this with a
# short time per target). Targets and their seeds:
#   gguf_fuzz, chat_template_fuzz, tokenizer_fuzz: seeds from real files (../shared, tests/data);
#   http_request_fuzz: raw bytes to the real HTTP server on loopback (tests/fuzz/corpus/, .dict);
#   completion_request_fuzz: request bodies to the OpenAI request parser (tests/fuzz/corpus/, .dict);
#   grammar_fuzz: a JSON Schema, a NUL, then token choices for the grammar matcher (tests/fuzz/corpus/, .dict);
#   reply_parser_fuzz: an options byte, then model output for the reply splitter and call parsers (tests/fuzz/corpus/).
# New inputs go to build/fuzz/corpus/<target>/ (the committed seeds are read, never written).
# A crash is written to build/fuzz/crashes/<target>-crash-*; rerun it with
#   build/fuzz/tests/fuzz/<target> build/fuzz/crashes/<file>
# Usage: scripts/fuzz.sh [SECONDS_PER_TARGET]   (default 60)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
targets=(gguf_fuzz chat_template_fuzz tokenizer_fuzz http_request_fuzz completion_request_fuzz grammar_fuzz reply_parser_fuzz)
command -v clang++ >/dev/null || { echo "fuzz: needs clang (apt-get install clang libclang-rt-14-dev)" >&2; exit 1; }
cmake --preset fuzz >/dev/null
cmake --build build/fuzz --target "${targets[@]}" -j "$(nproc)"

seeds=build/fuzz/seeds
mkdir -p "$seeds/gguf" "$seeds/chat" "$seeds/text" build/fuzz/crashes build/fuzz/logs
for f in ../shared/models/stories260K.gguf ../shared/models/invalid/*.gguf; do
  head -c 16384 "$f" >"$seeds/gguf/$(basename "$f")"
done
cp tests/data/chat/templates/*.jinja "$seeds/chat/"
cp ../shared/reference/tokenizer/*.inp "$seeds/text/"

failed=()
# run TARGET SEEDS [libFuzzer flags...]: the scratch corpus comes first, so libFuzzer writes there.
run() {
  local target=$1 seed_dir=$2
  shift 2
  local dict=tests/fuzz/$target.dict log=build/fuzz/logs/$target.log
  mkdir -p "build/fuzz/corpus/$target"
  echo "fuzz: $target for ${seconds}s" >&2
  local flags=(-max_total_time="$seconds" -artifact_prefix=build/fuzz/crashes/"$target"- -print_final_stats=1 "$@")
  [ -f "$dict" ] && flags+=(-dict="$dict")
  if build/fuzz/tests/fuzz/"$target" "build/fuzz/corpus/$target" "$seed_dir" "${flags[@]}" >"$log" 2>&1; then
    grep -E '^stat::(number_of_executed_units|average_exec_per_sec)' "$log" | tr '\n' ' ' >&2
    echo >&2
  else
    echo "fuzz: $target FAILED; the end of $log:" >&2
    tail -n 60 "$log" >&2
    failed+=("$target")
  fi
}
run gguf_fuzz "$seeds/gguf" -max_len=65536 -timeout=10
run chat_template_fuzz "$seeds/chat" -max_len=65536 -timeout=10
run tokenizer_fuzz "$seeds/text" -max_len=65536 -timeout=10
# The HTTP target checks hangs itself (10 s per connection, then the server must be idle and answer
# /health), so libFuzzer's own timeout sits above that.
run http_request_fuzz tests/fuzz/corpus/http_request_fuzz -max_len=20000 -timeout=60
run completion_request_fuzz tests/fuzz/corpus/completion_request_fuzz -max_len=65536 -timeout=10
run grammar_fuzz tests/fuzz/corpus/grammar_fuzz -max_len=4096 -timeout=10
run reply_parser_fuzz tests/fuzz/corpus/reply_parser_fuzz -max_len=4096 -timeout=10
if ((${#failed[@]})); then
  echo "fuzz: failed: ${failed[*]}; the inputs are in build/fuzz/crashes/" >&2
  exit 1
fi
