#!/usr/bin/env bash
# Sets up (scripts/setup.sh) and runs every test: unit, golden, CLI integration.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
ctest --preset release -j "$(nproc)" --timeout 600
