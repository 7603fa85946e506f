#!/usr/bin/env bash
# Sets up and starts Tandem on the demo model: for now an interactive chat in the terminal.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh >&2
exec build/release/tools/tandem chat -m models/SmolLM2-135M-Instruct.Q4_1.gguf "$@"
