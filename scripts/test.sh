#!/usr/bin/env bash
# Sets up (scripts/setup.sh) and runs every test: unit, golden, CLI integration; the server, gRPC,
# gateway, tools and web UI against real processes on loopback (storm tests included); then the
# jobs that keep memory, threading and parser bugs out (issue 10): the server under AddressSanitizer
# + UBSan and under ThreadSanitizer (scripts/sanitizers.sh) and a short run of each libFuzzer
# target (scripts/fuzz.sh). Each stage's time is printed; .ci/run runs this script.
set -euo pipefail
cd "$(dirname "$0")/.."
timed() {
  local start=$SECONDS
  "$@"
  echo "test: '$*' took $((SECONDS - start)) s" >&2
}
timed scripts/setup.sh
timed ctest --preset release -j "$(nproc)" --timeout 600
# pytest exits non-zero on any failure and with 5 when it collected no test, which fails too.
# The server's integration tests: the real `tandem serve` on loopback with the official openai
# client, and the storm tests (hang-ups, admission floods, idle sockets, fd exhaustion).
timed .venv/bin/python -m pytest tests/integration/server -q
# The gRPC front door (issue 14): stubs generated from proto/ at test time, the real server.
timed .venv/bin/python -m pytest tests/integration/grpc -q
# The gateway's acceptance tests (issue 11): two real backends on stories260K (and the demo model),
# the real `tandem gateway` in front, and the tests' own latency-injecting TCP proxy; HTTP and gRPC links.
timed .venv/bin/python -m pytest tests/integration/gateway -q
# The tools' integration tests (tandem bench, tandem doctor) against real servers and gateways on
# loopback; the bench's HTML report is opened in Debian's Chromium through playwright.
timed .venv/bin/python -m pytest tests/integration/tools -q
# The web UI (issue 12) in Debian's Chromium through playwright, against a real gateway and backends.
timed .venv/bin/python -m pytest tests/integration/ui -q
timed scripts/sanitizers.sh asan tsan
timed scripts/fuzz.sh 30
