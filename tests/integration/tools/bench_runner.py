"""Runs `tandem bench` and reads its --json report."""

import json
import subprocess
from pathlib import Path

from gateway_harness import BINARY, NO_EOS


def bench_args(url: str, json_path: Path, *, concurrency="1,4", requests=12, max_tokens=16, stream=True,
               api_key=None, extra=()) -> list[str]:
    args = [str(BINARY), "bench", "--url", url, "--endpoint", "/v1/completions", "--concurrency", concurrency,
            "--requests", str(requests), "--max-tokens", str(max_tokens), "--prompt-tokens", "16",
            # stories260K would often stop early; with its end-of-sequence token barred every reply
            # is exactly max_tokens long, which the token counts below rely on.
            "--extra-body", json.dumps({"logit_bias": NO_EOS, "temperature": 0}), "--json", str(json_path)]
    if stream:
        args.append("--stream")
    if api_key:
        args += ["--api-key", api_key]
    return args + list(extra)


def run_bench(url: str, tmp_path: Path, timeout: float = 120, **kwargs) -> tuple[dict, subprocess.CompletedProcess]:
    json_path = tmp_path / "bench.json"
    done = subprocess.run(bench_args(url, json_path, **kwargs), capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"tandem bench exited {done.returncode}:\n{done.stderr}\n{done.stdout}"
    return json.loads(json_path.read_text()), done


def assert_level_consistent(level: dict):
    """Percentiles ordered, counts that add up, rates and goodput in range."""
    assert set(level) >= {"concurrency", "requests", "errors", "req_per_s", "output_tokens_per_s", "ttft_ms",
                          "itl_ms", "e2e_ms", "goodput"}
    assert sum(level["errors_by_kind"].values()) == level["errors"]
    assert 0 <= level["errors"] <= level["requests"]
    assert 0 <= level["goodput"] <= 1
    # goodput is rounded to three decimals
    assert level["goodput"] <= (level["requests"] - level["errors"]) / level["requests"] + 0.0005 + 1e-9
    for key in ("ttft_ms", "itl_ms", "e2e_ms"):
        p = level[key]
        if p["p50"] is not None:
            assert 0 <= p["p50"] <= p["p95"] <= p["p99"], (key, p)
    if level["ttft_ms"]["p50"] is not None:
        assert level["ttft_ms"]["p50"] <= level["e2e_ms"]["p50"]
        assert level["ttft_ms"]["p99"] <= level["e2e_ms"]["p99"]
