"""Floods of requests refused at admission must not stop the streams already running.

Issue 10: while the queue was non-empty and a slot free, the scheduler kept admitting and never stepped, so
clients looping on requests rejected at admission (a prompt over the context, an out-of-vocabulary
logit_bias id) froze every running stream for as long as they kept sending; a 4 MiB prompt without spaces
was tokenized on the scheduler thread, freezing every stream meanwhile. Here a well-behaved client streams
throughout, and its chunks must keep arriving while the flood runs. The bounds are generous: this is a
liveness check on a shared machine, not a speed test.
"""

import threading
import time

import pytest
import requests

from conftest import API_KEY, MODEL_ID
from storm_clients import SteadyStreamer, assert_alive, run_threads, stream_once, wait_idle

STEADY_MAX_TOKENS = 64
BASELINE_SECONDS = 5
FLOOD_SECONDS = 15
# A running stream may pause this long at most while the flood runs (a decode step of the demo model takes
# tens of milliseconds; the starvation stopped streams for the whole flood, or for seconds per huge prompt).
MAX_GAP_SECONDS = 2.0
# ...and must keep at least this share of the chunk rate it had just before the flood.
MIN_RATE_SHARE = 0.1


def over_context_body(rng) -> dict:
    # About 2,000 tokens against a 512-token context.
    return {"model": MODEL_ID, "messages": [{"role": "user", "content": f"{rng.random()} " + "word " * 2000}],
            "max_tokens": 8}


def bad_logit_bias_body(rng) -> dict:
    return {"model": MODEL_ID, "messages": [{"role": "user", "content": f"Hi {rng.random()}"}],
            "max_tokens": 8, "logit_bias": {"99999999": 5}}


def huge_prompt_body(rng) -> dict:
    # 4 MiB without a space: one enormous pre-token for the tokenizer.
    return {"model": MODEL_ID, "prompt": "x" * (4 << 20), "max_tokens": 8}


FLOODS = {
    # name: (route, body maker, client threads)
    "prompt_over_context": ("/v1/chat/completions", over_context_body, 4),
    "out_of_vocabulary_logit_bias": ("/v1/chat/completions", bad_logit_bias_body, 4),
    "huge_prompt_without_spaces": ("/v1/completions", huge_prompt_body, 1),
}


def flood_loop(deadline: float, rng, url: str, path: str, make_body, statuses: dict, lock: threading.Lock):
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {API_KEY}"
    while time.monotonic() < deadline:
        try:
            status = session.post(url + path, json=make_body(rng), timeout=120).status_code
        except requests.RequestException as e:
            status = type(e).__name__
            time.sleep(0.05)
        with lock:
            statuses[status] = statuses.get(status, 0) + 1


def longest_gap(times: list[float], start: float, end: float) -> float:
    points = [start] + times + [end]
    return max(b - a for a, b in zip(points, points[1:]))


@pytest.mark.parametrize("flood", list(FLOODS))
def test_streams_keep_moving_during_an_admission_flood(make_server, flood):
    path, make_body, n_clients = FLOODS[flood]
    server = make_server(
        model={"max_batch_size": 4},
        limits={"max_body_bytes": "8MiB"},
        server={"max_concurrent_requests": 64},
    )
    expected = stream_once(server.port, STEADY_MAX_TOKENS)
    stop = threading.Event()
    steady = SteadyStreamer(server.port, expected, STEADY_MAX_TOKENS, stop)
    steady.start()
    time.sleep(1)  # the first stream is under way
    baseline_start = time.monotonic()
    time.sleep(BASELINE_SECONDS)
    flood_start = time.monotonic()
    baseline = steady.chunks_between(baseline_start, flood_start)

    statuses, lock = {}, threading.Lock()
    threads = run_threads(flood_loop, n_clients, FLOOD_SECONDS, server.base_url, path, make_body, statuses, lock)
    for t in threads:
        t.join(timeout=FLOOD_SECONDS + 180)
    flood_end = flood_start + FLOOD_SECONDS
    stop.set()
    steady.join(timeout=120)

    during = steady.chunks_between(flood_start, flood_end)
    baseline_rate = len(baseline) / BASELINE_SECONDS
    rate = len(during) / FLOOD_SECONDS
    gap = longest_gap(during, flood_start, flood_end)
    print(f"{flood}: statuses {statuses}; chunks/s before {baseline_rate:.1f}, during {rate:.1f}; "
          f"longest pause {gap:.2f} s; streams completed {steady.completed}")

    assert_alive(server)
    assert not steady.failures, f"the well-behaved client failed: {steady.failures[:5]}"
    assert sum(statuses.values()) >= 1 and all(isinstance(s, int) and 400 <= s < 500 for s in statuses), (
        f"the flood's requests should all be refused with a 4xx: {statuses}")
    assert baseline_rate > 0, "the stream made no progress even before the flood"
    assert gap <= MAX_GAP_SECONDS, f"the running stream stalled {gap:.2f} s during the flood ({statuses})"
    assert rate >= MIN_RATE_SHARE * baseline_rate, (
        f"the running stream slowed from {baseline_rate:.1f} to {rate:.1f} chunks/s during the flood")
    wait_idle(server)
