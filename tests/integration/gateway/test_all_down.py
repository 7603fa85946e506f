"""Both backends down: 503 in OpenAI's shape saying which links failed and why; one back: service resumes."""

import requests

from gateway_harness import wait_until


def test_both_down_then_one_restarted(pair, gateway):
    primary, backup = pair
    assert gateway.complete().status_code == 200
    pid = gateway.proc.pid
    primary.kill9()
    backup.kill9()

    responses = []

    def refused():
        r = gateway.complete(timeout=10)  # never a broken connection: an HTTP answer every time
        responses.append(r)
        return r if r.status_code == 503 else None

    r = wait_until(refused, 30, what="a 503 with both backends down")
    assert all(x.status_code in (200, 503) for x in responses), [(x.status_code, x.text) for x in responses]
    error = r.json()["error"]
    assert error["type"] and isinstance(error["message"], str)
    message = error["message"]
    assert "primary" in message and "backup" in message, f"the message does not name the links: {message}"
    assert "X-Tandem-Link" not in r.headers
    wait_until(lambda: requests.get(gateway.url + "/health", timeout=5).status_code == 503, 30,
               what="/health reporting that nothing can serve")
    wait_until(lambda: {link["state"] for link in gateway.links()["links"]} == {"down"}, 30,
               what="both links down in /api/links")
    status = gateway.links()
    assert status["mode"] == "degraded"
    # Streams are refused the same way, before any byte.
    r = requests.post(gateway.url + "/v1/completions", headers=gateway.headers(), timeout=10,
                      json={"model": "stories260K", "prompt": "x", "max_tokens": 2, "stream": True})
    assert r.status_code == 503 and "error" in r.json()

    # The backup comes back: service resumes without restarting the gateway.
    backup.start()
    r = wait_until(lambda: (x := gateway.complete(timeout=10)).status_code == 200 and x, 30,
                   what="service on the restarted backup")
    assert r.headers["X-Tandem-Link"] == "backup"
    assert gateway.proc.pid == pid and gateway.alive()
    assert requests.get(gateway.url + "/health", timeout=5).status_code == 200
    assert gateway.links()["active"] == "backup"


def test_a_gateway_started_with_every_link_down_serves_once_one_comes_up(make_backend, make_gateway):
    primary, backup = make_backend("primary"), make_backend("backup")
    primary.stop()
    backup.stop()
    gw = make_gateway([("primary", primary.url), ("backup", backup.url)], wait=False)
    # It runs, refusing politely, rather than exiting.
    r = wait_until(lambda: _answer(gw), 30, what="the gateway answering with no link up")
    assert r.status_code == 503, r.text
    assert requests.get(gw.url + "/health", timeout=5).status_code == 503
    primary.start()
    r = wait_until(lambda: (x := gw.complete(timeout=10)).status_code == 200 and x, 30,
                   what="service once the primary is up")
    assert r.headers["X-Tandem-Link"] == "primary"


def _answer(gw):
    assert gw.alive(), f"the gateway exited:\n{gw.log_text()}"
    try:
        return gw.complete(timeout=5)
    except requests.ConnectionError:
        return None
