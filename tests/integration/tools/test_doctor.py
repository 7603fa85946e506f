"""`tandem doctor` against real misconfigurations on loopback: an address not on this host, a port
held by another (named) process, a link that refuses connections, a model file that is missing,
unreadable or not GGUF, a KV cache that cannot fit, and healthy setups (serve, and a gateway in
front of it) that pass. Every check's JSON has the issue's shape; a failure exits with 1."""

import json
import os
import subprocess
import tempfile
from pathlib import Path

import pytest

from doctor_harness import backend_config, by_name, doctor, failures, gateway_config, port_holder, serve_config
from gateway_harness import BINARY, SMOLLM2, STORIES, free_port

def test_a_healthy_backend_passes(make_backend):
    backend = make_backend()
    code, checks = doctor("--config", backend_config(backend))
    assert code == 0, failures(checks)
    listening = by_name(checks, "serve.listening")
    assert listening["status"] == "PASS" and f"pid {backend.proc.pid}" in listening["message"]
    assert by_name(checks, "serve.server.health")["status"] == "PASS"
    assert by_name(checks, "serve.kv_cache")["status"] == "PASS"
    assert by_name(checks, "serve.memory")["status"] == "PASS"
    assert by_name(checks, "machine.cpu")["status"] in ("PASS", "WARN")


def test_a_healthy_gateway_and_its_link_pass(make_backend, make_gateway):
    backend = make_backend()
    gateway = make_gateway([("primary", backend.url)])
    code, checks = doctor("--config", backend_config(backend), "--gateway", str(gateway.config_path))
    assert code == 0, failures(checks)
    for name in ("gateway.config", "gateway.listening", "gateway.server.health", "gateway.link.primary.connect",
                 "gateway.link.primary.health", "gateway.link.primary.latency"):
        assert by_name(checks, name)["status"] == "PASS", by_name(checks, name)
    assert "threshold" in by_name(checks, "gateway.link.primary.latency")["message"]


def test_an_address_not_on_this_host_fails(tmp_path):
    # 192.0.2.1 is TEST-NET-1 (RFC 5737): never a real host's address.
    config = serve_config(tmp_path / "serve.json", network={"bind_address": "192.0.2.1"})
    code, checks = doctor("--config", str(config))
    assert code == 1
    check = by_name(checks, "serve.network.bind_address")
    assert check["status"] == "FAIL" and "not an address of this host" in check["message"]
    assert "127.0.0.1" in check["fix"]


def test_a_port_held_by_another_process_is_named(tmp_path):
    port = free_port()
    with port_holder(port) as (holder, comm):
        config = serve_config(tmp_path / "serve.json", network={"port": port})
        code, checks = doctor("--config", str(config))
        assert code == 1
        check = by_name(checks, "serve.listening")
        assert check["status"] == "FAIL"
        assert f"held by {comm} (pid {holder.pid}" in check["message"], check
        assert f"kill {holder.pid}" in check["fix"]


def test_a_stopped_server_is_the_cause_of_connection_refused(tmp_path):
    config = serve_config(tmp_path / "serve.json")
    code, checks = doctor("--config", str(config))
    check = by_name(checks, "serve.listening")
    assert check["status"] == "WARN" and "not running" in check["message"]
    assert f"tandem serve --config {config}" in check["fix"]
    assert code == 0  # nothing is wrong with the config itself


def test_a_link_that_refuses_connections_fails(make_backend, tmp_path):
    backend = make_backend()
    dead = free_port()  # nothing listens there
    config = gateway_config(tmp_path / "gateway.json", [
        {"name": "primary", "url": backend.url}, {"name": "backup", "url": f"http://127.0.0.1:{dead}"}])
    code, checks = doctor("--gateway", config)
    assert code == 1
    assert by_name(checks, "gateway.link.primary.health")["status"] == "PASS"
    refused = by_name(checks, "gateway.link.backup.connect")
    assert refused["status"] == "FAIL" and "refused" in refused["message"].lower(), refused
    assert "links[1].url" in refused["fix"]
    assert failures(checks) == ["gateway.link.backup.connect"]


def test_a_missing_model_fails(tmp_path):
    config = serve_config(tmp_path / "serve.json", model={"path": str(tmp_path / "nowhere.gguf")})
    code, checks = doctor("--config", str(config))
    assert code == 1
    check = by_name(checks, "serve.model.path")
    assert check["status"] == "FAIL" and "does not exist" in check["message"]


def test_a_file_that_is_not_gguf_fails(tmp_path):
    fake = tmp_path / "model.gguf"
    fake.write_text("this is a text file, not a model\n" * 10)
    config = serve_config(tmp_path / "serve.json", model={"path": str(fake)})
    code, checks = doctor("--config", str(config))
    assert code == 1
    check = by_name(checks, "serve.model.path")
    assert check["status"] == "FAIL" and "not a model Tandem can serve" in check["message"], check


def test_an_unreadable_model_fails():
    # Root reads any file, so the check runs as nobody when the tests run as root.
    as_user = 65534 if os.geteuid() == 0 else None
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        folder.chmod(0o755)
        model = folder / "model.gguf"
        model.write_bytes(STORIES.read_bytes())
        model.chmod(0o000)
        config = serve_config(folder / "serve.json")
        data = json.loads(config.read_text())
        data["model"]["path"] = str(model)
        config.write_text(json.dumps(data))
        config.chmod(0o644)
        code, checks = doctor("--config", str(config), user=as_user)
    assert code == 1
    check = by_name(checks, "serve.model.path")
    assert check["status"] == "FAIL" and "permission denied" in check["message"].lower(), check


def test_a_kv_cache_beyond_the_cache_budget_fails(tmp_path):
    # stories260K: 640 bytes of KV per token; 1024 sequences x 2048 tokens = 1.25 GiB > 64 MiB.
    config = serve_config(tmp_path / "serve.json", model={"context_size": 2048, "max_batch_size": 1024},
                          performance={"cache_size": "64MiB"})
    code, checks = doctor("--config", str(config))
    assert code == 1
    check = by_name(checks, "serve.model.max_batch_size")
    assert check["status"] == "FAIL" and "KV cache" in check["message"]
    assert "lower model.max_batch_size" in check["fix"] or "cache_size" in check["fix"]


@pytest.mark.skipif(not SMOLLM2.exists(), reason="the demo model (scripts/fetch_models.sh)")
def test_a_kv_cache_beyond_memory_fails(tmp_path):
    # SmolLM2-135M: 30 layers x 3 KV heads x 64 x 2 x 2 bytes = 22.5 KiB per token; 1024 x 8192
    # tokens is 180 GiB, within the cache budget given but past any test machine's memory.
    config = serve_config(tmp_path / "serve.json",
                          model={"path": str(SMOLLM2), "context_size": 8192, "max_batch_size": 1024},
                          performance={"cache_size": "200GiB"})
    code, checks = doctor("--config", str(config))
    assert code == 1
    check = by_name(checks, "serve.memory")
    assert check["status"] == "FAIL" and "cannot fit" in check["message"], check
    assert "max_batch_size" in check["fix"]


def test_text_output_and_a_config_that_does_not_load(tmp_path):
    bad = tmp_path / "serve.json"
    bad.write_text('{"network": {"port": "eighty"}}')
    done = subprocess.run([str(BINARY), "doctor", "--config", str(bad)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "FAIL  serve.network.port" in done.stdout
    assert done.stdout.splitlines()[0].split()[0] in ("PASS", "WARN", "FAIL")
