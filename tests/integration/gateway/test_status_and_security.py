"""What the gateway tells about its links (/api/links, /metrics, the X-Tandem-Link header) and who may ask."""

import requests

from gateway_harness import BACKEND_KEY, GATEWAY_KEY, STORIES_ID, wait_until


def assert_openai_error(r, status):
    assert r.status_code == status, f"{r.status_code}: {r.text}"
    error = r.json()["error"]
    assert isinstance(error["message"], str) and error["message"]
    assert "type" in error
    return error


def test_api_links_has_the_documented_shape(gateway, pair):
    primary, backup = pair
    # Wait for a few probes so that round-trip times exist.
    wait_until(lambda: gateway.link("primary")["rtt_ms"]["last"] is not None
               and gateway.link("backup")["rtt_ms"]["last"] is not None, 5, what="a probe of each link")
    status = gateway.links()
    assert status["active"] == "primary"
    assert status["mode"] == "normal"
    assert [link["name"] for link in status["links"]] == ["primary", "backup"]
    for link, backend in zip(status["links"], pair):
        assert link["url"].rstrip("/") == backend.url
        assert link["protocol"] == "http"
        assert link["state"] == "healthy"
        assert set(link["rtt_ms"]) >= {"last", "p50", "p95"}
        for key in ("last", "p50", "p95"):
            assert isinstance(link["rtt_ms"][key], (int, float)) and 0 <= link["rtt_ms"][key] < 200
        for key in ("in_flight", "requests_total", "errors_total"):
            assert isinstance(link[key], int) and link[key] >= 0
        assert "api_key" not in link and BACKEND_KEY not in str(link), "the link's key must not be shown"
    assert isinstance(status["events"], list)
    for event in status["events"]:
        assert set(event) >= {"time", "from", "to", "reason"}


def test_requests_are_counted_per_link(gateway):
    before = gateway.link("primary")["requests_total"]
    for _ in range(3):
        assert gateway.complete().status_code == 200
    assert gateway.link("primary")["requests_total"] >= before + 3
    assert gateway.link("backup")["requests_total"] == 0
    assert gateway.link("primary")["in_flight"] == 0


def test_every_proxied_response_names_its_link(gateway):
    r = gateway.complete()
    assert r.status_code == 200, r.text
    assert r.headers["X-Tandem-Link"] == "primary"
    assert r.json()["choices"][0]["text"]
    # An error from the backend is proxied too, with the header.
    r = requests.post(gateway.url + "/v1/completions", headers=gateway.headers(),
                      json={"model": "no-such-model", "prompt": "x", "max_tokens": 1}, timeout=10)
    assert r.status_code == 404, r.text
    assert r.headers["X-Tandem-Link"] == "primary"
    # Streams too.
    with requests.post(gateway.url + "/v1/completions", headers=gateway.headers(), stream=True, timeout=30,
                       json={"model": STORIES_ID, "prompt": "Once", "max_tokens": 4, "stream": True}) as r:
        assert r.status_code == 200
        assert r.headers["X-Tandem-Link"] == "primary"
        assert r.headers["Content-Type"].startswith("text/event-stream")
        body = r.text
    assert body.rstrip().endswith("data: [DONE]")


def test_models_are_merged_across_links(gateway):
    r = requests.get(gateway.url + "/v1/models", headers=gateway.headers(), timeout=10)
    assert r.status_code == 200, r.text
    models = r.json()
    assert models["object"] == "list"
    # Both links serve stories260K: it is listed once.
    assert [m["id"] for m in models["data"]] == [STORIES_ID]


def test_metrics_report_link_state(gateway):
    assert gateway.complete().status_code == 200
    r = requests.get(gateway.url + "/metrics", headers=gateway.headers(), timeout=10)
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/plain")
    lines = [line for line in r.text.splitlines() if line and not line.startswith("#")]
    assert any("state" in line and 'primary' in line for line in lines), r.text
    assert any("state" in line and 'backup' in line for line in lines), r.text
    # Proxied requests by link, probe round-trip histogram, switches.
    assert any("primary" in line and "request" in line for line in lines), r.text
    assert any("_bucket" in line and "primary" in line for line in lines), r.text
    assert any("switch" in line for line in lines), r.text
    assert BACKEND_KEY not in r.text and GATEWAY_KEY not in r.text


def test_keys_are_required_everywhere_but_health(gateway):
    assert requests.get(gateway.url + "/health", timeout=5).status_code == 200
    for method, path in [("GET", "/v1/models"), ("POST", "/v1/completions"), ("POST", "/v1/chat/completions"),
                         ("GET", "/api/links"), ("GET", "/metrics")]:
        for headers in [{}, {"Authorization": "Bearer wrong"}, {"Authorization": GATEWAY_KEY},
                        # The key the gateway sends upstream is not a user's key.
                        {"Authorization": f"Bearer {BACKEND_KEY}"}]:
            r = requests.request(method, gateway.url + path, headers=headers, timeout=10,
                                 json={"model": STORIES_ID, "prompt": "x", "max_tokens": 1})
            assert r.status_code == 401, f"{method} {path} with {headers}: {r.status_code}"
            if path.startswith("/v1/"):
                assert_openai_error(r, 401)
            assert "X-Tandem-Link" not in r.headers, "a refused request must not reach a link"
    assert gateway.link("primary")["requests_total"] == 0


def test_without_keys_configured_everything_is_open(pair, make_gateway):
    primary, backup = pair
    gw = make_gateway([("primary", primary.url), ("backup", backup.url)], api_keys=[])
    r = requests.post(gw.url + "/v1/completions", json={"model": STORIES_ID, "prompt": "x", "max_tokens": 1},
                      timeout=10)
    assert r.status_code == 200, r.text
    assert requests.get(gw.url + "/api/links", timeout=5).status_code == 200


def test_unknown_route_is_an_openai_404_or_proxied(gateway):
    r = requests.get(gateway.url + "/v1/no-such-route", headers=gateway.headers(), timeout=10)
    assert r.status_code == 404
    assert_openai_error(r, 404)


def test_each_key_is_rate_limited_with_retry_after(pair, make_gateway):
    primary, backup = pair
    gw = make_gateway([("primary", primary.url), ("backup", backup.url)], extra={"security": {"requests_per_minute": 3}})
    statuses = [gw.complete().status_code for _ in range(3)]
    assert statuses == [200, 200, 200]
    r = gw.complete()
    error = assert_openai_error(r, 429)
    assert int(r.headers["Retry-After"]) >= 1
    assert error["message"]
    assert requests.get(gw.url + "/health", timeout=5).status_code == 200, "/health is never limited"


def test_a_body_over_the_limit_is_refused_before_any_link(pair, make_gateway):
    primary, backup = pair
    gw = make_gateway([("primary", primary.url), ("backup", backup.url)], extra={"limits": {"max_body_bytes": "1KiB"}})
    r = gw.complete(prompt="x" * 4096)
    assert_openai_error(r, 413)
    assert "X-Tandem-Link" not in r.headers
    assert gw.complete().status_code == 200
