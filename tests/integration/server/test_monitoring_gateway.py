"""Monitoring in `tandem gateway` (issue 13): the host collectors and the links' round trips in
/api/stats, /api/alerts and /metrics; the link_slow rule firing when a link's probes slow down
(switch_link reports the failover's move) and resolving when they recover; a real Prometheus
scraping a backend and the gateway. Real backends, gateway and a latency-injecting proxy."""

import sys
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "gateway"))

from gateway_harness import BACKEND_KEY, GATEWAY_KEY, Backend, Gateway  # noqa: E402
from latency_proxy import LatencyProxy  # noqa: E402
from monitoring_helpers import Prometheus, wait_for  # noqa: E402


def get(gw, path):
    r = requests.get(gw.url + path, headers=gw.headers(), timeout=10)
    assert r.status_code == 200, f"{path}: {r.status_code} {r.text}"
    return r


def both_links_fast(stats):
    """The stats when they carry a round trip under 0.2 s for each of primary and backup, else None."""
    rtts = {c["labels"]["link"]: c["value"] for c in stats["current"] if c["name"] == "link_rtt_seconds"}
    return stats if set(rtts) == {"primary", "backup"} and all(v < 0.2 for v in rtts.values()) else None


def firing(gw, rule):
    return next((a for a in get(gw, "/api/alerts").json()["firing"] if a["rule"] == rule), None)


def test_link_slow_fires_and_reports_the_switch_then_resolves(tmp_path):
    primary = Backend(tmp_path, "primary")
    backup = Backend(tmp_path, "backup")
    proxy = LatencyProxy(primary.port)
    gw = None
    try:
        gw = Gateway(tmp_path, [("primary", f"http://127.0.0.1:{proxy.port}"), ("backup", backup.url)],
                     extra={"monitoring": {"rules": [
                         {"name": "link_slow", "metric": "link_rtt_seconds", "above": 0.2, "for_seconds": 3,
                          "action": "switch_link", "cooldown_seconds": 0}]}})
        # One sample is one probe of each link: on a slow (sanitizer) build or a busy machine a single
        # probe can take longer than the rule's 0.2 s, so wait for a sample where both are fast rather
        # than judge the first one.
        stats = wait_for(lambda: both_links_fast(get(gw, "/api/stats").json()), timeout=60,
                         what="round trips of both links under 0.2 s in /api/stats")
        assert stats["sources"]["meminfo"] == "present" and stats["sources"]["links"] == "present"
        text = get(gw, "/metrics").text
        assert "\ntandem_host_memory_total_bytes " in text and 'tandem_alert_firing{rule="link_slow"} 0\n' in text
        assert "\ntandem_gateway_link_active" in text, "the gateway's own metrics are still there"
        # The gateway's own failover may have left primary after slow start-up probes; it returns
        # once primary's probes are fast (recover_probes, min_hold_seconds).
        wait_for(lambda: gw.links()["active"] == "primary", timeout=60, what="primary active")

        proxy.set_delay(150)  # each way: probes to primary take > 300 ms
        alert = wait_for(lambda: firing(gw, "link_slow"), timeout=60, what="link_slow firing")
        assert alert["labels"] == {"link": "primary"} and alert["value"] > 0.2
        assert alert["action"] == "switch_link"
        assert alert["action_result"].startswith("link primary round trip"), alert
        assert "traffic on backup" in alert["action_result"], alert
        assert gw.links()["active"] == "backup"
        assert 'tandem_alert_firing{rule="link_slow"} 1\n' in get(gw, "/metrics").text

        proxy.set_delay(0)
        wait_for(lambda: firing(gw, "link_slow") is None, timeout=60, what="link_slow resolved")
        history = get(gw, "/api/alerts").json()["history"]
        assert history[0]["rule"] == "link_slow" and history[0]["state"] == "resolved"
        assert history[0]["resolve_result"].startswith("link primary is fast again")
    finally:
        if gw:
            gw.stop()
        proxy.close()
        primary.stop()
        backup.stop()


def test_a_real_prometheus_scrapes_the_backend_and_the_gateway(tmp_path):
    backend = Backend(tmp_path, "primary")
    gw = None
    prometheus = None
    try:
        gw = Gateway(tmp_path, [("primary", backend.url)])
        prometheus = Prometheus(tmp_path, {
            "tandem-backend": (f"127.0.0.1:{backend.port}", BACKEND_KEY),
            "tandem-gateway": (f"127.0.0.1:{gw.port}", GATEWAY_KEY)})
        for job in ("tandem-backend", "tandem-gateway"):
            try:
                result = wait_for(lambda: prometheus.query(f'tandem_host_memory_total_bytes{{job="{job}"}}'),
                                  timeout=60, interval=0.5, what=f"Prometheus to scrape {job}")
            except AssertionError as e:
                raise AssertionError(f"{e}\ntargets: {prometheus.targets()}") from None
            assert float(result[0]["value"][1]) > 0
        active = wait_for(lambda: prometheus.query('tandem_gateway_link_active{link="primary"}'), 10,
                          what="tandem_gateway_link_active")
        assert active[0]["value"][1] == "1"
        assert prometheus.query('tandem_model_loaded{job="tandem-backend"}')[0]["value"][1] == "1"
    finally:
        if prometheus:
            prometheus.stop()
        if gw:
            gw.stop()
        backend.stop()
