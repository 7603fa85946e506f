#!/usr/bin/env bash
# CI's sanitizer jobs (scripts/test.sh runs them): memory and threading bugs in the server, such as
# the double free when a streaming client hung up (issue 10), must fail CI instead of reaching users.
#   asan: AddressSanitizer + UndefinedBehaviorSanitizer (preset asan, GCC, -O1). Builds `tandem` and
#         the server's and config's unit tests only; runs those, then the server integration tests
#         (tests/integration/server, the real binary under the openai client) against the ASan
#         `tandem`. The engine's kernel and model tests are left to the release run: under ASan they
#         take long and exercise no code the server's threads share.
#   tsan: ThreadSanitizer (preset tsan). Builds test_server (HTTP server, batching scheduler) and
#         `tandem`; runs test_server, then the server's disconnect and hang-up storm integration
#         tests against the TSan `tandem`.
# Every report fails the job. Reports go to build/<preset>/sanitizer-reports/ (log_path), which must
# be empty at the end: a server that the tests stop at the end writes its report (a leak, a race in
# shutdown) only there, and its exit status is not something every test checks.
# Usage: scripts/sanitizers.sh [asan] [tsan]   (default: both). Prints each stage's time.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=("$@")
((${#jobs[@]})) || jobs=(asan tsan)
root=$PWD
python=.venv/bin/python

stage_start=0
stage() {
  stage_start=$SECONDS
  echo "sanitizers: $*" >&2
}
stage_done() { echo "sanitizers: ... $((SECONDS - stage_start)) s" >&2; }

# check_reports DIR: fails, printing them, when a sanitizer wrote any report.
check_reports() {
  local dir=$1
  if compgen -G "$dir/*" >/dev/null; then
    echo "sanitizers: reports in $dir:" >&2
    for f in "$dir"/*; do
      echo "---- $f" >&2
      head -n 80 "$f" >&2
    done
    return 1
  fi
}

# checked DIR COMMAND...: runs COMMAND; when it fails, shows the reports (they are not on stderr).
checked() {
  local dir=$1
  shift
  if ! "$@"; then
    check_reports "$dir" || true
    echo "sanitizers: failed: $*" >&2
    return 1
  fi
}

# fresh_reports PRESET: an empty report folder for this run.
fresh_reports() {
  local dir=$root/build/$1/sanitizer-reports
  rm -rf "$dir"
  mkdir -p "$dir"
  echo "$dir"
}

run_asan() {
  cmake --preset asan >/dev/null
  stage "asan: build tandem test_server test_config"
  cmake --build build/asan --target tandem test_server test_config -j "$(nproc)"
  stage_done
  local reports
  reports=$(fresh_reports asan)
  export ASAN_OPTIONS="halt_on_error=1:abort_on_error=1:detect_leaks=1:check_initialization_order=1:strict_init_order=1:log_path=$reports/asan"
  export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$reports/ubsan"
  stage "asan: unit tests (test_server, test_config)"
  checked "$reports" build/asan/tests/test_server --gtest_brief=1
  checked "$reports" build/asan/tests/test_config --gtest_brief=1
  stage_done
  stage "asan: server integration tests against build/asan/tools/tandem"
  TANDEM_BINARY=$root/build/asan/tools/tandem checked "$reports" $python -m pytest tests/integration/server -q -p no:cacheprovider
  stage_done
  check_reports "$reports"
  unset ASAN_OPTIONS UBSAN_OPTIONS
}

run_tsan() {
  cmake --preset tsan >/dev/null
  stage "tsan: build tandem test_server"
  cmake --build build/tsan --target tandem test_server -j "$(nproc)"
  stage_done
  local reports
  reports=$(fresh_reports tsan)
  export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:log_path=$reports/tsan"
  stage "tsan: unit tests (test_server)"
  checked "$reports" build/tsan/tests/test_server --gtest_brief=1
  stage_done
  # The tests whose threads race the most: hang-ups against the end of a stream (issue 10's double
  # free, on stories260K, where the pre-fix server crashed within ~20 s) and disconnects. Not the
  # lifecycle test or the storms on the demo model: they check that work gets done in a set time,
  # and under TSan the engine runs 5-15x slower (they failed on time alone, with no report).
  stage "tsan: disconnect and hang-up integration tests against build/tsan/tools/tandem"
  TANDEM_BINARY=$root/build/tsan/tools/tandem checked "$reports" $python -m pytest -q -p no:cacheprovider \
    tests/integration/server/test_disconnect.py \
    "tests/integration/server/test_storm_hangups.py::test_hang_up_after_the_first_chunk_on_a_tiny_model"
  stage_done
  check_reports "$reports"
  unset TSAN_OPTIONS
}

for job in "${jobs[@]}"; do
  case $job in
    asan) run_asan ;;
    tsan) run_tsan ;;
    *) echo "sanitizers: unknown job '$job' (asan, tsan)" >&2; exit 2 ;;
  esac
done
