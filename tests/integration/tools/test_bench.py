"""`tandem bench` against real servers on loopback: `tandem serve` on stories260K, directly and
through `tandem gateway`; a server stopped mid-run; the HTML report drawn by Chromium."""

import json
import re
import subprocess
import time

import pytest
import requests

from bench_runner import assert_level_consistent, bench_args, run_bench
from gateway_harness import BACKEND_KEY, BINARY, GATEWAY_KEY, STORIES_ID


def completions_served(backend) -> int:
    text = requests.get(backend.url + "/metrics", headers=backend.headers(), timeout=5).text
    m = re.search(r'tandem_http_requests_total\{route="/v1/completions",status="200"\} (\d+)', text)
    return int(m.group(1)) if m else 0


def test_levels_complete_against_the_backend(make_backend, tmp_path):
    backend = make_backend()
    before = completions_served(backend)
    report, done = run_bench(backend.url, tmp_path, concurrency="1,4,8", requests=16, max_tokens=16,
                             api_key=BACKEND_KEY)
    levels = report["levels"]
    assert [level["concurrency"] for level in levels] == [1, 4, 8]
    for level in levels:
        assert_level_consistent(level)
        assert level["requests"] == 16 and level["errors"] == 0, level
        assert level["req_per_s"] > 0
        # Every reply is exactly max_tokens long, and both rates share the level's wall time.
        assert level["output_tokens_per_s"] == pytest.approx(16 * level["req_per_s"], rel=1e-3)
        assert level["itl_ms"]["p50"] is not None  # streamed: gaps between tokens were measured
        assert level["goodput"] == 1.0  # no SLO given: every success counts
    # The server answered exactly the requests the bench counted (the /v1/models look-up aside).
    assert completions_served(backend) - before == 48
    # The summary and the progress lines.
    assert "c=8  [" in done.stderr and "16/16  errors 0" in done.stderr
    assert "TTFT ms p50/p95/p99" in done.stdout


def test_without_streaming_ttft_is_the_whole_request(make_backend, tmp_path):
    backend = make_backend()
    report, _ = run_bench(backend.url, tmp_path, concurrency="2", requests=8, stream=False, api_key=BACKEND_KEY)
    level = report["levels"][0]
    assert_level_consistent(level)
    assert level["errors"] == 0
    assert level["itl_ms"] == {"p50": None, "p95": None, "p99": None}
    assert level["ttft_ms"] == level["e2e_ms"]


def test_goodput_against_an_slo_no_request_can_meet(make_backend, tmp_path):
    backend = make_backend()
    report, _ = run_bench(backend.url, tmp_path, concurrency="2", requests=8, api_key=BACKEND_KEY,
                          extra=["--slo-ttft-ms", "0.000001"])
    assert report["levels"][0]["errors"] == 0
    assert report["levels"][0]["goodput"] == 0.0


def test_a_wrong_key_is_counted_as_401s(make_backend, tmp_path):
    backend = make_backend()
    report, done = run_bench(backend.url, tmp_path, concurrency="2", requests=6, api_key="wrong-key",
                             extra=["--model", STORIES_ID])
    level = report["levels"][0]
    assert level["errors"] == 6 and level["errors_by_kind"] == {"http_401": 6}
    assert level["ttft_ms"]["p50"] is None and level["goodput"] == 0
    assert "http_401" in done.stdout


@pytest.mark.parametrize("how", ["kill9", "sigterm"])
def test_errors_are_counted_when_the_server_stops_mid_run(make_backend, tmp_path, how):
    backend = make_backend()
    json_path = tmp_path / "bench.json"
    proc = subprocess.Popen(bench_args(backend.url, json_path, concurrency="4", requests=2000, max_tokens=48,
                                       api_key=BACKEND_KEY, extra=["--model", STORIES_ID, "--timeout", "20"]),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        # Let some requests complete, then take the server away under the bench.
        deadline = time.monotonic() + 60
        while completions_served(backend) < 20:
            assert time.monotonic() < deadline, "the bench made no progress"
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.05)
        if how == "kill9":
            backend.kill9()
        else:  # a graceful stop: in-flight streams may finish or end in an error event
            backend.stop()
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    level = json.loads(json_path.read_text())["levels"][0]
    assert_level_consistent(level)
    assert level["requests"] == 2000
    assert 20 <= level["requests"] - level["errors"] < 2000
    assert level["errors"] > 0
    # In-flight streams are cut ("closed") or refused while draining ("http_503", "stream_error"),
    # later requests find nothing listening ("connect").
    assert set(level["errors_by_kind"]) <= {"closed", "connect", "incomplete", "http_503", "stream_error"}, \
        level["errors_by_kind"]
    assert level["errors_by_kind"].get("connect", 0) > 0


def test_through_the_gateway(make_backend, make_gateway, tmp_path):
    backend = make_backend()
    gateway = make_gateway([("primary", backend.url)])
    report, _ = run_bench(gateway.url, tmp_path, concurrency="1,4", requests=12, api_key=GATEWAY_KEY)
    for level in report["levels"]:
        assert_level_consistent(level)
        assert level["errors"] == 0, level
        assert level["output_tokens_per_s"] == pytest.approx(16 * level["req_per_s"], rel=1e-3)


def test_bad_arguments_fail_at_once_with_the_fix(tmp_path):
    def bench(*args, env=None):
        return subprocess.run([str(BINARY), "bench", *args], capture_output=True, text=True, timeout=30, env=env)

    done = bench("--url", "https://127.0.0.1:1")
    assert done.returncode == 1 and "https is not supported" in done.stderr
    done = bench("--url", "http://127.0.0.1:1", "--concurrency", "0")
    assert done.returncode == 1 and "--concurrency 0" in done.stderr
    done = bench("--url", "http://127.0.0.1:1", "--json", str(tmp_path / "missing/dir/out.json"), "--model", "m")
    assert done.returncode == 1 and "cannot write --json" in done.stderr
    # Nothing listens on port 1: no model list to take the model from.
    done = bench("--url", "http://127.0.0.1:1")
    assert done.returncode == 1 and "give --model" in done.stderr
    env = {"TANDEM_CHARTJS": str(tmp_path / "no-chart.js"), "PATH": "/usr/bin:/bin"}
    done = bench("--url", "http://127.0.0.1:1", "--model", "m", "--html", str(tmp_path / "r.html"), env=env)
    assert done.returncode == 1 and "TANDEM_CHARTJS" in done.stderr
