"""Server lifecycle: config errors stop it before it starts, admin unload/load, a bounded queue
(429), and SIGTERM that lets the request in flight finish and exits 0."""

import json
import signal
import subprocess
import threading

import requests

from conftest import BINARY, MODEL, MODEL_ID, free_port
from held_stream import HOLD_CONTEXT, NO_STOP_TOKENS, HeldStream


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


# A request the server must finish while it shuts down: long enough to be running when the signal
# arrives right after its first bytes (0.5 s even at 800 tokens/s), and unable to end early:
# SmolLM2's end-of-text, im_start and im_end are banned (NO_STOP_TOKENS).
IN_FLIGHT_TOKENS = 400


def stream_request(s, max_tokens, results, key, started):
    """Streams a completion into results[key]; sets `started` when the first bytes arrive, which
    proves the request is running (polling /metrics can miss a request this short)."""
    try:
        with requests.post(
            s.base_url + "/v1/completions", headers=s.headers(), stream=True, timeout=300,
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


def test_queue_bound_gives_429_with_retry_after(make_server):
    # The one request allowed is held until the 429 is checked, then hung up (a request of fixed
    # length could end first on a fast machine, and the second request would then be served).
    s = make_server(server={"max_concurrent_requests": 1}, model={"context_size": HOLD_CONTEXT})
    held = HeldStream(s)
    held.wait_started()
    r = requests.post(
        s.base_url + "/v1/completions", headers=s.headers(),
        json={"model": MODEL_ID, "prompt": "x", "max_tokens": 2}, timeout=10,
    )
    assert r.status_code == 429
    assert int(r.headers["Retry-After"]) >= 1
    assert r.json()["error"]["type"] == "rate_limit_error"
    held.hang_up()


def test_sigterm_finishes_the_request_in_flight_and_exits_zero(make_server):
    # The grace period is far longer than the request takes even under AddressSanitizer (5-10x
    # slower), so the request ends because it is complete, never because the grace ran out.
    s = make_server(timeouts={"shutdown_grace_seconds": 300})
    results = {}
    started = threading.Event()
    t = threading.Thread(target=stream_request, args=(s, IN_FLIGHT_TOKENS, results, "inflight", started))
    t.start()
    assert started.wait(timeout=60), "no generation started"
    assert "inflight_error" not in results, results
    s.proc.send_signal(signal.SIGTERM)
    t.join(timeout=300)
    assert results.get("inflight_status") == 200, results
    assert results["inflight"].endswith(b"data: [DONE]\n\n")
    assert s.proc.wait(timeout=30) == 0
    log = s.log_text()
    # The server's own count at the signal: the request was still running, so the drain was tested.
    assert "shutting down: 1 requests in flight" in log, log
    assert "stopped" in log
