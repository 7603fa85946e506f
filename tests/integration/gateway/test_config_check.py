"""`tandem gateway --check` accepts the issue's example and refuses bad configs, naming the field."""

import copy
import subprocess

import pytest

from gateway_harness import BINARY, run_check

# The example from issue 11, verbatim: --check must accept it without contacting its links.
EXAMPLE = {
    "network": {"bind_address": "127.0.0.1", "port": 8000},
    "links": [
        {"name": "primary", "url": "http://192.168.1.200:8080", "protocol": "http", "api_key": "..."},
        {"name": "backup", "url": "http://192.168.1.201:8080", "protocol": "http"},
    ],
    "failover": {"latency_threshold_ms": 200, "probe_interval_ms": 1000, "probe_timeout_ms": 1000,
                 "slow_probes": 3, "failed_probes": 2, "recover_probes": 10, "min_hold_seconds": 30},
    "security": {"api_keys": []},
}


def example(**changes):
    config = copy.deepcopy(EXAMPLE)
    for fn in changes.values():
        fn(config)
    return config


def test_the_issue_example_is_accepted(tmp_path):
    r = run_check(EXAMPLE, tmp_path)
    assert r.returncode == 0, r.stderr


def test_a_minimal_config_with_one_link_is_accepted(tmp_path):
    r = run_check({"links": [{"name": "only", "url": "http://127.0.0.1:8080"}]}, tmp_path)
    assert r.returncode == 0, r.stderr


def set_links(value):
    return lambda c: c.__setitem__("links", value)


def set_link_field(index, key, value):
    return lambda c: c["links"][index].__setitem__(key, value)


BAD = {
    "no links": (set_links([]), ["links"]),
    "links missing": (lambda c: c.pop("links"), ["links"]),
    "duplicate names": (set_link_field(1, "name", "primary"), ["name", "primary"]),
    "empty name": (set_link_field(0, "name", ""), ["name"]),
    "url without a scheme": (set_link_field(0, "url", "192.168.1.200:8080"), ["url"]),
    "url with a bad scheme": (set_link_field(0, "url", "ftp://192.168.1.200:8080"), ["url"]),
    "url that is not a url": (set_link_field(1, "url", "not a url"), ["url"]),
    "url with a bad port": (set_link_field(0, "url", "http://192.168.1.200:99999"), ["url"]),
    "unknown protocol": (set_link_field(0, "protocol", "carrier-pigeon"), ["protocol"]),
    "grpc link with a path": (lambda c: (c["links"][0].update(protocol="grpc", url="http://192.168.1.200:9090/v1")),
                              ["url", "no path"]),
    "unknown top-level key": (lambda c: c.__setitem__("linkz", []), ["linkz"]),
    "unknown failover key": (lambda c: c["failover"].__setitem__("latency_treshold_ms", 100),
                             ["latency_treshold_ms"]),
    "unknown link key": (set_link_field(0, "weight", 3), ["weight"]),
    "negative threshold": (lambda c: c["failover"].__setitem__("latency_threshold_ms", -1),
                           ["latency_threshold_ms"]),
    "zero probe interval": (lambda c: c["failover"].__setitem__("probe_interval_ms", 0), ["probe_interval_ms"]),
    "port out of range": (lambda c: c["network"].__setitem__("port", 70000), ["port"]),
    "wrong type": (lambda c: c["failover"].__setitem__("slow_probes", "three"), ["slow_probes"]),
}


@pytest.mark.parametrize("case", BAD.keys())
def test_bad_config_is_refused_with_the_field_named(case, tmp_path):
    change, words = BAD[case]
    r = run_check(example(change=change), tmp_path)
    assert r.returncode != 0, f"{case}: accepted\nstdout: {r.stdout}\nstderr: {r.stderr}"
    for word in words:
        assert word in r.stderr, f"{case}: stderr does not name {word!r}:\n{r.stderr}"
    assert "Traceback" not in r.stderr and "terminate called" not in r.stderr


def test_malformed_json_is_refused_with_its_position(tmp_path):
    r = run_check('{"links": [ {"name": "a", "url": "http://127.0.0.1:1"} ', tmp_path)
    assert r.returncode != 0
    assert r.stderr.strip(), "no message on stderr"
    assert "terminate called" not in r.stderr


def test_missing_config_file_is_refused(tmp_path):
    r = subprocess.run([str(BINARY), "gateway", "--config", str(tmp_path / "absent.json"), "--check"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode != 0
    assert "absent.json" in r.stderr


def test_help_lists_the_options():
    r = subprocess.run([str(BINARY), "gateway", "--help"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    for option in ["config", "check", "latency_threshold_ms", "probe_interval_ms", "recover_probes",
                   "min_hold_seconds", "api_keys", "port"]:
        assert option in r.stdout, f"--help does not list {option}:\n{r.stdout}"
