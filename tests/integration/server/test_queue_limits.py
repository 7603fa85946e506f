"""Queue limits against the real server: a request that waits too long for a sequence slot gets a
clear 503 in OpenAI's error shape with Retry-After (timeouts.queue_seconds), not a 200 with empty
text and finish_reason "length"; and the generation timeout counts from the start of the
generation, not from the arrival of the request."""

import threading
import time

import openai
import pytest
import requests

from conftest import API_KEY, MODEL_ID
from held_stream import HOLD_CONTEXT, NO_STOP_TOKENS, HeldStream


def long_stream(s, results, started, max_tokens=480):
    try:
        with requests.post(
            s.base_url + "/v1/completions", headers=s.headers(), stream=True, timeout=300,
            json={"model": MODEL_ID, "prompt": "Once upon a time", "max_tokens": max_tokens, "stream": True,
                  "logit_bias": NO_STOP_TOKENS},
        ) as r:
            results["status"] = r.status_code
            body = b""
            for chunk in r.iter_content(chunk_size=None):
                body += chunk
                started.set()
            results["body"] = body
    except Exception as e:  # recorded for the assertions
        results["error"] = repr(e)
    finally:
        started.set()


def test_a_request_that_waits_past_queue_seconds_gets_503_with_retry_after(make_server):
    # The slot is held by a stream that cannot end before the test hangs it up.
    s = make_server(model={"max_batch_size": 1, "context_size": HOLD_CONTEXT}, timeouts={"queue_seconds": 1})
    held = HeldStream(s)
    held.wait_started()

    sent = time.monotonic()
    r = requests.post(s.base_url + "/v1/chat/completions", headers=s.headers(), timeout=120,
                      json={"model": MODEL_ID, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 4})
    waited = time.monotonic() - sent
    first_done = not held.thread.is_alive()
    assert r.status_code == 503, r.text
    assert int(r.headers["Retry-After"]) >= 1
    err = r.json()["error"]
    assert set(err) == {"message", "type", "param", "code"}
    assert err["code"] == "queue_timeout" and "timeouts.queue_seconds" in err["message"]
    assert waited >= 0.9
    assert not first_done, "the refusal must come when the limit passes, not when the slot frees"

    # The official client sees an APIStatusError it can retry on.
    client = openai.OpenAI(base_url=s.base_url + "/v1", api_key=API_KEY, max_retries=0)
    with pytest.raises(openai.APIStatusError) as caught:
        client.chat.completions.create(model=MODEL_ID, messages=[{"role": "user", "content": "hi"}], max_tokens=4)
    assert caught.value.status_code == 503

    held.hang_up()  # asserts the slot was held through both refusals


def test_generation_seconds_counts_from_the_start_of_the_generation(make_server):
    # One slot; the first request holds it for longer than generation_seconds allows the second to
    # wait. The second must still generate its tokens once it starts (it used to get "" and "length").
    s = make_server(model={"max_batch_size": 1, "context_size": 4096},
                    timeouts={"generation_seconds": 2, "queue_seconds": 60})
    results = {}
    started = threading.Event()
    t = threading.Thread(target=long_stream, args=(s, results, started, 4000))  # cut at 2 s
    t.start()
    assert started.wait(timeout=60) and "error" not in results, results
    r = requests.post(s.base_url + "/v1/completions", headers=s.headers(), timeout=120,
                      json={"model": MODEL_ID, "prompt": "The cat", "max_tokens": 8, "logit_bias": NO_STOP_TOKENS})
    t.join(timeout=300)
    assert r.status_code == 200, r.text
    choice = r.json()["choices"][0]
    assert r.json()["usage"]["completion_tokens"] == 8, r.text
    assert choice["finish_reason"] == "length" and choice["text"]
