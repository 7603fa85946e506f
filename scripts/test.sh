#!/usr/bin/env bash
# Sets up (scripts/setup.sh) and runs every test: unit, golden, CLI integration, server integration.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
ctest --preset release -j "$(nproc)" --timeout 600
# The server's integration tests: the real `tandem serve` on loopback with the official openai
# client. pytest exits non-zero on any failure and with 5 when it collected no test, which fails too.
.venv/bin/python -m pytest tests/integration/server -q
# The gateway's acceptance tests (issue 11): two real backends on stories260K (and the demo model),
# the real `tandem gateway` in front, and the tests' own latency-injecting TCP proxy.
.venv/bin/python -m pytest tests/integration/gateway -q
# The gRPC front door (issue 14): stubs generated from proto/ at test time, the real server.
.venv/bin/python -m pytest tests/integration/grpc -q
# The tools' integration tests (tandem bench, tandem doctor) against real servers and gateways on
# loopback; the bench's HTML report is opened in Debian's Chromium through playwright.
.venv/bin/python -m pytest tests/integration/tools -q
# The web UI (issue 12) in Debian's Chromium through playwright, against a real gateway and backends.
.venv/bin/python -m pytest tests/integration/ui -q
