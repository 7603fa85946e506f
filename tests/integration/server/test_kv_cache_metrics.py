"""KV cache use (issue 13) on the real `tandem serve`: tandem_kv_cache_used_cells and
tandem_kv_cache_usage_ratio rise while a long generation runs and fall back to 0 after it, the
capacity is max_batch_size x context, and /api/stats carries the same readings."""

import shutil
import subprocess
import threading
import time

import pytest
import requests

from conftest import MODEL_ID
from held_stream import HOLD_CONTEXT, HeldStream

NO_EOS = {"0": -100, "2": -100}  # <|endoftext|>, <|im_end|>: the generation runs to max_tokens


def get(server, path):
    return requests.get(server.base_url + path, headers=server.headers(), timeout=10)


def scrape(server) -> dict:
    values = {}
    for line in get(server, "/metrics").text.splitlines():
        if line.startswith("tandem_kv_cache_"):
            name, value = line.split()
            values[name] = float(value)
    return values


def stat(server, name):
    for c in get(server, "/api/stats").json()["current"]:
        if c["name"] == name:
            return c["value"]
    return None


def test_kv_cache_use_rises_during_a_generation_and_falls_after(make_server):
    # HOLD_CONTEXT: room for the held stream at the end.
    server = make_server(model={"max_batch_size": 2, "context_size": HOLD_CONTEXT})
    capacity = 2 * HOLD_CONTEXT
    idle = scrape(server)
    assert idle["tandem_kv_cache_capacity_cells"] == capacity
    assert idle["tandem_kv_cache_used_cells"] == 0
    assert idle["tandem_kv_cache_usage_ratio"] == 0

    done = threading.Event()
    answer = {}

    def generate():
        r = requests.post(server.base_url + "/v1/completions", headers=server.headers(), timeout=300,
                          json={"model": MODEL_ID, "prompt": "Once upon a time", "max_tokens": 400,
                                "temperature": 0, "logit_bias": NO_EOS})
        answer["response"] = r
        done.set()

    threading.Thread(target=generate, daemon=True).start()
    seen = []
    while not done.is_set():
        m = scrape(server)
        seen.append(m["tandem_kv_cache_used_cells"])
        assert m["tandem_kv_cache_usage_ratio"] == pytest.approx(m["tandem_kv_cache_used_cells"] / capacity)
        # Often: the 400 tokens take 1.6 s at 250 tokens/s, and a faster engine must still be seen
        # growing in several readings.
        time.sleep(0.01)
    assert answer["response"].status_code == 200, answer["response"].text
    assert answer["response"].json()["usage"]["completion_tokens"] == 400
    rising = [v for v in seen if v > 0]
    assert len(rising) >= 3, seen
    assert max(seen) > 100, "the cells grow with the generation"
    assert rising == sorted(rising), "one sequence only grows"
    assert max(seen) <= 4 + 400 + 1
    assert scrape(server)["tandem_kv_cache_used_cells"] == 0, "the finished sequence holds no cells"

    # /api/stats shows the monitor's last sample (one a second): a sequence is held until a sample
    # has caught it (the 400 tokens above can end between two samples on a fast engine), then hung up.
    held = HeldStream(server)
    held.wait_started()
    deadline = time.monotonic() + 30
    while not stat(server, "kv_cache_used_cells"):
        assert time.monotonic() < deadline, "/api/stats never showed the running sequence's cells"
        time.sleep(0.1)
    held.hang_up()
    deadline = time.monotonic() + 60  # the cancel, then the next sample: seconds on a sanitizer build
    while stat(server, "kv_cache_used_cells") != 0:
        assert time.monotonic() < deadline, "/api/stats still shows the cells in use"
        time.sleep(0.2)
    assert stat(server, "kv_cache_capacity_cells") == capacity
    assert stat(server, "kv_cache_usage_ratio") == 0

    promtool = shutil.which("promtool")
    if promtool:
        lint = subprocess.run([promtool, "check", "metrics"], input=get(server, "/metrics").text, capture_output=True,
                              text=True)
        assert lint.returncode == 0, lint.stdout + lint.stderr


def test_no_kv_metrics_without_a_model(make_server):
    admin_key = "admin-key-0123456789abcdef"
    server = make_server(security={"admin_api_keys": [admin_key]})
    assert scrape(server)["tandem_kv_cache_capacity_cells"] > 0
    r = requests.post(server.base_url + "/admin/model/unload", headers={"Authorization": f"Bearer {admin_key}"},
                      json={}, timeout=30)
    assert r.status_code == 200, r.text
    deadline = time.monotonic() + 10
    while scrape(server):
        assert time.monotonic() < deadline, "the KV metrics stayed after the unload"
        time.sleep(0.1)
