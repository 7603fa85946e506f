"""deploy/prometheus and deploy/grafana checked with Debian's prometheus package (issue 13):
promtool check/test of the rules, the scrape config, every Grafana panel's PromQL through
promtool, the dashboard's structure, and a real Prometheus scraping a running backend."""

import json
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import requests
import yaml

from conftest import API_KEY, ROOT
from monitoring_helpers import Prometheus, wait_for

DEPLOY = ROOT / "deploy"
DASHBOARD = DEPLOY / "grafana/tandem.json"


def tool(name):
    path = shutil.which(name)
    assert path, f"{name} is missing; scripts/setup.sh installs Debian's prometheus package"
    return path


def run(*args, cwd=None):
    result = subprocess.run([*args], capture_output=True, text=True, cwd=cwd, timeout=120)
    assert result.returncode == 0, f"{' '.join(map(str, args))}:\n{result.stdout}{result.stderr}"
    return result.stdout


def test_alert_and_recording_rules_pass_promtool_check_and_unit_tests():
    promtool = tool("promtool")
    out = run(promtool, "check", "rules", "tandem.rules.yml", cwd=DEPLOY / "prometheus")
    assert "SUCCESS" in out
    out = run(promtool, "test", "rules", "tests/tandem.rules.test.yml", cwd=DEPLOY / "prometheus")
    assert "SUCCESS" in out


def test_every_alert_has_severity_and_annotations_and_a_test_that_fires_it():
    rules = yaml.safe_load((DEPLOY / "prometheus/tandem.rules.yml").read_text())
    alerts = [r for g in rules["groups"] for r in g["rules"] if "alert" in r]
    tested = yaml.safe_load((DEPLOY / "prometheus/tests/tandem.rules.test.yml").read_text())
    cases = [c for t in tested["tests"] for c in t.get("alert_rule_test", [])]
    assert {a["alert"] for a in alerts} >= {"TandemMemoryHigh", "TandemLinkSlow", "TandemTemperatureHigh",
                                             "TandemPowerHigh", "TandemErrorRateHigh", "TandemQueueBacklog"}
    for a in alerts:
        assert a["labels"]["severity"] in ("critical", "warning", "info"), a["alert"]
        assert {"summary", "description", "runbook_url"} <= set(a["annotations"]), a["alert"]
        mine = [c for c in cases if c["alertname"] == a["alert"]]
        assert any(c["exp_alerts"] for c in mine), f"no test shows {a['alert']} firing"
        assert any(not c["exp_alerts"] for c in mine), f"no test shows {a['alert']} not firing"


def test_a_broken_rule_fails_the_unit_tests(tmp_path):
    """The unit tests can fail: a threshold moved by a typo is caught."""
    promtool = tool("promtool")
    (tmp_path / "tests").mkdir()
    text = (DEPLOY / "prometheus/tandem.rules.yml").read_text().replace("tandem_memory_used_ratio > 0.85",
                                                                        "tandem_memory_used_ratio > 0.95")
    (tmp_path / "tandem.rules.yml").write_text(text)
    shutil.copy(DEPLOY / "prometheus/tests/tandem.rules.test.yml", tmp_path / "tests")
    result = subprocess.run([promtool, "test", "rules", "tests/tandem.rules.test.yml"], cwd=tmp_path,
                            capture_output=True, text=True)
    assert result.returncode != 0 and "TandemMemoryHigh" in result.stdout + result.stderr


def test_the_scrape_config_passes_promtool(tmp_path):
    promtool = tool("promtool")
    config = yaml.safe_load((DEPLOY / "prometheus/prometheus.yml").read_text())
    for job in config["scrape_configs"]:  # the key files an operator provides
        key = tmp_path / Path(job["authorization"]["credentials_file"]).name
        key.write_text("secret\n")
        job["authorization"]["credentials_file"] = str(key)
    shutil.copy(DEPLOY / "prometheus/tandem.rules.yml", tmp_path)
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    assert "SUCCESS" in run(promtool, "check", "config", str(tmp_path / "prometheus.yml"))


def panel_queries():
    dashboard = json.loads(DASHBOARD.read_text())
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            yield panel, target


def as_promql(expr: str) -> str:
    """Grafana's variables, replaced as Grafana would before the query reaches Prometheus."""
    return expr.replace("$__rate_interval", "1m").replace("$instance", ".*")


def test_dashboard_structure():
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["title"] == "Tandem" and dashboard["uid"]
    names = {v["name"] for v in dashboard["templating"]["list"]}
    assert {"DS_PROMETHEUS", "instance"} <= names
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    titles = {p["title"] for p in dashboard["panels"]}
    # The web dashboard's panels.
    for want in ("Memory in use", "GPU memory", "Temperature", "Power", "Network", "Tokens per second",
                 "Alerts firing", "Link round-trip time (p95)", "KV cache use"):
        assert want in titles, want
    cells = set()
    for p in dashboard["panels"]:
        g = p["gridPos"]
        assert g["w"] > 0 and g["h"] > 0 and g["x"] + g["w"] <= 24, p["title"]
        for dx in range(g["w"]):
            for dy in range(g["h"]):
                cell = (g["x"] + dx, g["y"] + dy)
                assert cell not in cells, f"{p['title']} overlaps another panel"
                cells.add(cell)
        assert p["datasource"]["uid"] == "${DS_PROMETHEUS}", p["title"]
        assert p["targets"], p["title"]
        refs = [t["refId"] for t in p["targets"]]
        assert len(refs) == len(set(refs)), p["title"]
        assert p["fieldConfig"]["defaults"]["unit"], p["title"]
    metrics_doc = (ROOT / "docs/METRICS.md").read_text()
    for panel, target in panel_queries():
        assert 'instance=~"$instance"' in target["expr"], f"{panel['title']} ignores the instance filter"
        for name in re.findall(r"\btandem_[a-z_]+", target["expr"]):
            base = re.sub(r"_(bucket|sum|count)$", "", name)
            assert f"`{base}" in metrics_doc, f"{panel['title']}: {base} is not in docs/METRICS.md"


def test_every_panel_query_is_valid_promql(tmp_path):
    promtool = tool("promtool")
    rules = [{"record": f"tandem:dashboard_panel_{panel['id']}_{target['refId']}", "expr": as_promql(target["expr"])}
             for panel, target in panel_queries()]
    path = tmp_path / "dashboard_queries.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    assert f"SUCCESS: {len(rules)} rules found" in run(promtool, "check", "rules", str(path))
    # And promtool notices a typo in one.
    rules[0]["expr"] = rules[0]["expr"].replace(")", "", 1) + " +"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    assert subprocess.run([promtool, "check", "rules", str(path)], capture_output=True).returncode != 0


def test_a_real_prometheus_scrapes_the_backend(make_server, tmp_path):
    server = make_server()
    prometheus = Prometheus(tmp_path, {"tandem-backend": (f"127.0.0.1:{server.port}", API_KEY)})
    try:
        try:
            result = wait_for(lambda: prometheus.query('tandem_host_memory_total_bytes{job="tandem-backend"}'),
                              timeout=60, interval=0.5, what="Prometheus to scrape the backend")
        except AssertionError as e:
            raise AssertionError(f"{e}\ntargets: {prometheus.targets()}") from None
        assert float(result[0]["value"][1]) > 0
        loaded = wait_for(lambda: prometheus.query("tandem_model_loaded"), timeout=10, what="tandem_model_loaded")
        assert loaded[0]["value"][1] == "1"
        up = prometheus.query('up{job="tandem-backend"}')
        assert up and up[0]["value"][1] == "1"
        # The recording rules evaluate against real data too.
        wait_for(lambda: prometheus.query("instance:tandem_network_receive_bytes:rate1m") is not None, 10,
                 what="a recording rule")
    finally:
        prometheus.stop()
