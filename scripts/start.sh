#!/usr/bin/env bash
# Sets up and starts Tandem's backend on the demo model (SmolLM2-135M-Instruct): an
# OpenAI-compatible server on http://127.0.0.1:8080 with continuous batching of 16 sequences.
# Extra arguments go to `tandem serve` (see `build/release/tools/tandem serve --help`).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh >&2
exec build/release/tools/tandem serve -m "$PWD/models/SmolLM2-135M-Instruct.Q4_1.gguf" \
  --host 127.0.0.1 --port 8080 --model.max_batch_size 16 --ctx-size 2048 --cache-size 1GiB "$@"
