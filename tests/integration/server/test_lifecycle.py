"""Server lifecycle: config errors stop it before it starts, admin unload/load, a bounded queue
(429), and SIGTERM that lets the request in flight finish and exits 0."""

import json
import signal
import subprocess
import threading
import time

import requests

from conftest import API_KEY, BINARY, MODEL, MODEL_ID, free_port


def test_bad_config_exits_before_starting_and_lists_every_problem(tmp_path):
    config = tmp_path / "bad.json"
    config.write_text(
        json.dumps(
            {
                "network": {"bind_address": "192.0.2.77", "port": 80, "prot": "http"},
                "model": {"path": "models/relative.gguf", "max_batch_size": "16"},
                "performance": {"threads": 8, "cache_size": "lots"},
            }
        )
    )
    p = subprocess.run([str(BINARY), "serve", "--config", str(config)], capture_output=True, text=True, timeout=30)
    assert p.returncode == 2
    err = p.stderr
    assert "network.port" in err and "privileged" in err
    assert "model.max_batch_size" in err and "expected an integer" in err
    assert "performance.cache_size" in err
    assert "did you mean network.port?" in err
    assert "nothing was started" in err


def test_host_problems_are_listed_too(tmp_path):
    config = tmp_path / "host.json"
    config.write_text(
        json.dumps(
            {
                "network": {"bind_address": "192.0.2.77", "port": free_port()},
                "model": {"path": "models/relative.gguf"},
            }
        )
    )
    p = subprocess.run([str(BINARY), "serve", "--config", str(config)], capture_output=True, text=True, timeout=30)
    assert p.returncode == 2
    assert "not an address of this host" in p.stderr
    assert "relative path" in p.stderr


def test_kv_cache_must_fit(tmp_path):
    p = subprocess.run(
        [str(BINARY), "serve", "--model", str(MODEL), "--port", str(free_port()), "--cache-size", "1MiB",
         "--ctx-size", "2048", "--check"],
        capture_output=True, text=True, timeout=30,
    )
    assert p.returncode == 2
    assert "KV cache" in p.stderr and "performance.cache_size" in p.stderr


def test_check_flag_accepts_a_good_config():
    p = subprocess.run(
        [str(BINARY), "serve", "--model", str(MODEL), "--port", str(free_port()), "--check"],
        capture_output=True, text=True, timeout=30,
    )
    assert p.returncode == 0, p.stderr


ADMIN_KEY = "admin-key-0123456789abcdef"


def test_admin_unload_and_load(make_server):
    s = make_server(security={"admin_api_keys": [ADMIN_KEY]})
    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    r = requests.post(s.base_url + "/admin/model/unload", headers=admin, json={}, timeout=30)
    assert r.status_code == 200 and r.json()["status"] == "unloaded"
    health = requests.get(s.base_url + "/health", timeout=10)
    assert health.status_code == 503
    assert "unloaded" in health.json()["reason"]
    chat = requests.post(
        s.base_url + "/v1/chat/completions", headers=s.headers(),
        json={"model": MODEL_ID, "messages": [{"role": "user", "content": "x"}], "max_tokens": 2}, timeout=10,
    )
    assert chat.status_code == 503
    assert chat.json()["error"]["code"] == "model_not_loaded"
    assert requests.get(s.base_url + "/v1/models", headers=s.headers(), timeout=10).json()["data"] == []

    # Without model.directory only model.path loads (test_admin_security.py covers the directory).
    bad = requests.post(s.base_url + "/admin/model/load", headers=admin, json={"path": "relative.gguf"}, timeout=10)
    assert bad.status_code == 403 and bad.json()["error"]["code"] == "model_directory_not_set"
    r = requests.post(s.base_url + "/admin/model/load", headers=admin, json={}, timeout=120)
    assert r.status_code == 200, r.text
    assert r.json()["model"]["id"] == MODEL_ID
    assert requests.get(s.base_url + "/health", timeout=10).status_code == 200
    r = requests.post(s.base_url + "/admin/model/load", headers=admin, json={"path": str(MODEL), "name": "smol"}, timeout=120)
    assert r.status_code == 200
    assert requests.get(s.base_url + "/v1/models", headers=s.headers(), timeout=10).json()["data"][0]["id"] == "smol"


# Generation is fast (hundreds of tokens/s), so a request that must still be running when the
# test acts is long and cannot end early: SmolLM2's end-of-text, im_start and im_end are banned.
LONG_REQUEST_TOKENS = 400
NO_STOP_TOKENS = {"0": -100, "1": -100, "2": -100}


def stream_request(s, max_tokens, results, key, started):
    """Streams a completion into results[key]; sets `started` when the first bytes arrive, which
    proves the request is running (polling /metrics can miss a request this short)."""
    try:
        with requests.post(
            s.base_url + "/v1/completions", headers=s.headers(), stream=True, timeout=120,
            json={"model": MODEL_ID, "prompt": "Tell me a story", "max_tokens": max_tokens, "stream": True,
                  "logit_bias": NO_STOP_TOKENS},
        ) as r:
            results[key + "_status"] = r.status_code
            chunks = []
            for chunk in r.iter_content(chunk_size=None):
                chunks.append(chunk)
                started.set()
            results[key] = b"".join(chunks)
    except Exception as e:  # recorded for the assertion below
        results[key + "_error"] = repr(e)
    finally:
        started.set()


def start_long_request(s, results, key):
    started = threading.Event()
    t = threading.Thread(target=stream_request, args=(s, LONG_REQUEST_TOKENS, results, key, started))
    t.start()
    assert started.wait(timeout=30), "no generation started"
    assert key + "_error" not in results, results
    return t


def test_queue_bound_gives_429_with_retry_after(make_server):
    s = make_server(server={"max_concurrent_requests": 1})
    results = {}
    t = start_long_request(s, results, "first")
    r = requests.post(
        s.base_url + "/v1/completions", headers=s.headers(),
        json={"model": MODEL_ID, "prompt": "x", "max_tokens": 2}, timeout=10,
    )
    assert r.status_code == 429
    assert int(r.headers["Retry-After"]) >= 1
    assert r.json()["error"]["type"] == "rate_limit_error"
    t.join(timeout=120)
    assert results.get("first_status") == 200
    assert results["first"].endswith(b"data: [DONE]\n\n")


def test_sigterm_finishes_the_request_in_flight_and_exits_zero(make_server):
    s = make_server()
    results = {}
    t = start_long_request(s, results, "inflight")
    s.proc.send_signal(signal.SIGTERM)
    t.join(timeout=120)
    assert results.get("inflight_status") == 200, results
    assert results["inflight"].endswith(b"data: [DONE]\n\n")
    assert s.proc.wait(timeout=30) == 0
    log = s.log_text()
    assert "shutting down" in log and "stopped" in log
