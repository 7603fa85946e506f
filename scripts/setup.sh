#!/usr/bin/env bash
# Sets up everything Tandem needs on Debian 12, idempotently: system packages, the Python tooling
# environment (.venv), the demo model (models/), and a Release build (build/release).
# Usage: scripts/setup.sh [--no-build]
set -euo pipefail
cd "$(dirname "$0")/.."

apt_packages=(build-essential cmake ninja-build ccache pkg-config git unzip
  libgtest-dev libgmock-dev nlohmann-json3-dev libcli11-dev libboost-dev zlib1g-dev
  python3 python3-venv python3-pip
  clang libclang-rt-14-dev  # clang and its libFuzzer runtime: scripts/fuzz.sh
  libjs-chart.js chromium  # tandem bench --html inlines Chart.js; its test opens the report in Chromium
  libsqlite3-dev libjs-marked node-dompurify libjs-highlight.js  # the gateway's web UI: history, embedded libraries
  prometheus  # promtool and Prometheus: the tests of deploy/prometheus, deploy/grafana and /metrics
  libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc)  # the gRPC front door and links

missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# Python tooling (test-data generators, oracles). Debian's python3 is used when present so the
# environment does not depend on a user's pyenv.
python_bin=/usr/bin/python3
[ -x "$python_bin" ] || python_bin=$(command -v python3)
if [ ! -x .venv/bin/python ]; then
  "$python_bin" -m venv .venv
fi
# Reinstall only when scripts/requirements.txt changed since the last install.
wanted=$(sha256sum scripts/requirements.txt | cut -d' ' -f1)
if [ "$(cat .venv/.requirements.sha256 2>/dev/null)" != "$wanted" ]; then
  .venv/bin/pip install -q --disable-pip-version-check -r scripts/requirements.txt
  echo "$wanted" >.venv/.requirements.sha256
fi

scripts/fetch_models.sh

if [ "${1:-}" != "--no-build" ]; then
  cmake --preset release >/dev/null
  cmake --build --preset release -j "$(nproc)"
fi
