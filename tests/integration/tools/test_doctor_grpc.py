"""`tandem doctor` and gRPC (issues 14 and 15): a gateway link of protocol "grpc" is probed with the
standard health service (grpc.health.v1), as the gateway probes it, not GET /health; a backend
that serves gRPC alone is checked at its network.grpc_port; and the out-of-memory check's GPU line
on a host without an NVIDIA driver (this one) says so as a PASS."""

import ctypes

import pytest

from doctor_harness import backend_config, by_name, doctor, failures, gateway_config, port_holder, serve_config
from gateway_harness import BACKEND_KEY, free_port


def test_a_grpc_link_is_probed_with_the_health_service(make_backend, tmp_path):
    backend = make_backend("primary", protocol="grpc")
    dead = free_port()  # nothing listens there
    config = gateway_config(tmp_path / "gateway.json", [
        {"name": "primary", "url": backend.url, "protocol": "grpc", "api_key": BACKEND_KEY},
        {"name": "refused", "url": f"http://127.0.0.1:{dead}", "protocol": "grpc"},
    ])
    code, checks = doctor("--gateway", config)

    health = by_name(checks, "gateway.link.primary.health")
    assert health["status"] == "PASS", health
    assert "grpc.health.v1" in health["message"] and "SERVING" in health["message"], health
    assert by_name(checks, "gateway.link.primary.connect")["status"] == "PASS"
    assert "threshold" in by_name(checks, "gateway.link.primary.latency")["message"]

    refused = by_name(checks, "gateway.link.refused.connect")
    assert refused["status"] == "FAIL" and "refused" in refused["message"].lower(), refused
    assert "links[1].url" in refused["fix"]
    assert not [c for c in checks if c["name"] == "gateway.link.refused.health"]
    assert code == 1 and failures(checks) == ["gateway.link.refused.connect"]


def test_a_grpc_link_to_a_port_that_is_not_grpc_fails_its_health_check(make_backend, tmp_path):
    """An HTTP port named as a gRPC link: the TCP connect passes, the health service cannot answer."""
    backend = make_backend("http-only")
    config = gateway_config(tmp_path / "gateway.json", [{"name": "wrong", "url": backend.url, "protocol": "grpc"}])
    code, checks = doctor("--gateway", config)
    assert by_name(checks, "gateway.link.wrong.connect")["status"] == "PASS"
    health = by_name(checks, "gateway.link.wrong.health")
    assert health["status"] == "FAIL" and "grpc.health.v1" in health["message"], health
    assert "network.grpc_port" in health["fix"]
    assert code == 1


def test_a_grpc_only_backend_is_checked_at_its_grpc_port(make_backend):
    backend = make_backend("primary", protocol="grpc")
    code, checks = doctor("--config", backend_config(backend))
    assert failures(checks) == [], [c for c in checks if c["status"] == "FAIL"]
    assert by_name(checks, "serve.grpc.listening")["status"] == "PASS"
    health = by_name(checks, "serve.grpc.server.health")
    assert health["status"] == "PASS" and "SERVING" in health["message"], health
    # No HTTP listener in this mode, so none is looked for (and none is reported missing).
    assert not [c for c in checks if c["name"] in ("serve.listening", "serve.server.health")]
    assert code == 0


def test_a_grpc_port_held_by_another_process_is_named(tmp_path):
    port = free_port()
    with port_holder(port) as (holder, comm):
        config = serve_config(tmp_path / "serve.json", network={"protocol": "grpc", "grpc_port": port})
        code, checks = doctor("--config", str(config))
        check = by_name(checks, "serve.grpc.listening")
        assert check["status"] == "FAIL" and f"held by {comm} (pid {holder.pid}" in check["message"], check
        assert "network.grpc_port" in check["fix"], check
        assert code == 1


def nvml_present() -> bool:
    try:
        ctypes.CDLL("libnvidia-ml.so.1")
        return True
    except OSError:
        return False


@pytest.mark.skipif(nvml_present(), reason="this host has the NVIDIA driver's NVML: the absent path cannot run")
def test_without_an_nvidia_driver_the_gpu_line_is_a_pass_that_says_so(tmp_path):
    config = serve_config(tmp_path / "serve.json")
    code, checks = doctor("--config", str(config))
    gpu = by_name(checks, "machine.gpu")
    assert gpu["status"] == "PASS", gpu
    assert "no NVIDIA GPU/driver found" in gpu["message"], gpu
    assert "main memory" in gpu["message"]
    assert by_name(checks, "serve.memory")["status"] == "PASS"
