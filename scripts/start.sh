#!/usr/bin/env bash
# Sets up and starts Tandem on the demo model (SmolLM2-135M-Instruct): the backend (`tandem serve`,
# OpenAI-compatible, continuous batching of 16 sequences) on 127.0.0.1:8080, and the gateway
# (`tandem gateway`) in front of it on http://127.0.0.1:8000: the address people and applications
# use. Ctrl-C stops both. Extra arguments go to `tandem serve` (see `tandem serve --help`);
# TANDEM_BACKEND_PORT and TANDEM_GATEWAY_PORT change the ports.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh >&2

bin=build/release/tools/tandem
backend_port=${TANDEM_BACKEND_PORT:-8080}
gateway_port=${TANDEM_GATEWAY_PORT:-8000}

"$bin" serve -m "$PWD/models/SmolLM2-135M-Instruct.Q4_1.gguf" \
  --host 127.0.0.1 --port "$backend_port" --model.max_batch_size 16 --ctx-size 2048 --cache-size 1GiB "$@" &
backend=$!
# The web UI's conversations live in .cache/ (not in git), so they survive a restart.
mkdir -p .cache
"$bin" gateway --host 127.0.0.1 --port "$gateway_port" --history.path "$PWD/.cache/gateway-history.sqlite" \
  --links "[{\"name\": \"local\", \"url\": \"http://127.0.0.1:$backend_port\"}]" &
gateway=$!

stop() {
  trap - INT TERM EXIT
  kill -TERM "$gateway" "$backend" 2>/dev/null || true
  wait "$gateway" "$backend" 2>/dev/null || true
}
trap stop INT TERM EXIT

# Ready when the gateway's /health says a link can serve (the backend has loaded the model).
# Plain bash, so that no HTTP client needs installing.
healthy() {
  local line=""
  exec 3<>"/dev/tcp/127.0.0.1/$gateway_port" 2>/dev/null || return 1
  printf 'GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' >&3
  IFS= read -r -t 2 line <&3 || true
  exec 3<&- 3>&-
  [[ $line == *" 200 "* ]]
}
for _ in $(seq 1 600); do
  if ! kill -0 "$backend" 2>/dev/null || ! kill -0 "$gateway" 2>/dev/null; then
    echo "start.sh: the backend or the gateway exited; see the messages above" >&2
    exit 1
  fi
  if healthy; then break; fi
  sleep 0.2
done
echo
echo "Tandem is ready: open http://127.0.0.1:$gateway_port (OpenAI API at http://127.0.0.1:$gateway_port/v1)."
echo "Press Ctrl-C to stop the gateway and the backend."
# Either one stopping stops the other.
wait -n "$backend" "$gateway" || true
