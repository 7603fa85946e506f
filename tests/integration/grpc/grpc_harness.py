"""The gRPC front door's test harness: stubs generated at test time from the committed proto, and
the real `tandem serve` (started by tests/integration/server's harness) with network.protocol
"both". conftest.py makes its fixtures; tests import names from here (not from conftest, which
another folder's conftest would shadow in a run of several folders).
"""

import importlib.util
import sys
from pathlib import Path

import grpc
import pytest
from grpc_tools import protoc

ROOT = Path(__file__).resolve().parents[3]
PROTO_DIR = ROOT / "proto"


def _load_server_harness():
    spec = importlib.util.spec_from_file_location("server_harness", ROOT / "tests/integration/server/conftest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


harness = _load_server_harness()
API_KEY = harness.API_KEY
MODEL_ID = harness.MODEL_ID
ADMIN_KEY = "admin-key-0123456789abcdef"


def generate_stubs(out):
    """(inference_pb2, inference_pb2_grpc), generated from proto/tandem/v1/inference.proto now."""
    import grpc_tools

    include = Path(grpc_tools.__file__).parent / "_proto"
    rc = protoc.main(["protoc", f"-I{PROTO_DIR}", f"-I{include}", f"--python_out={out}", f"--grpc_python_out={out}",
                      str(PROTO_DIR / "tandem/v1/inference.proto")])
    assert rc == 0, "protoc could not compile proto/tandem/v1/inference.proto"
    sys.path.insert(0, str(out))
    from tandem.v1 import inference_pb2, inference_pb2_grpc  # noqa: E402

    return inference_pb2, inference_pb2_grpc


class GrpcServer:
    """A `tandem serve` with HTTP and gRPC, its channel and its stub."""

    def __init__(self, tmp_path, pb, overrides=None):
        self.grpc_port = harness.free_port()
        config = {"network": {"protocol": "both", "grpc_port": self.grpc_port},
                  "security": {"api_keys": [API_KEY], "admin_api_keys": [ADMIN_KEY]}}
        for section, values in (overrides or {}).items():
            config.setdefault(section, {}).update(values)
        self.http = harness.Server(tmp_path, config)
        self.pb, self.pb_grpc = pb
        self.channel = grpc.insecure_channel(f"127.0.0.1:{self.grpc_port}")
        self.stub = self.pb_grpc.InferenceStub(self.channel)

    def auth(self, key=API_KEY):
        return [("authorization", f"Bearer {key}")]

    def stop(self):
        self.channel.close()
        self.http.stop()


class GrpcOnlyServer:
    """A `tandem serve` with network.protocol "grpc": the gRPC listener alone, no HTTP port (so no
    GET /health to wait for: it is ready when the health service says SERVING)."""

    def __init__(self, tmp_path, pb):
        import json
        import subprocess
        import time

        from grpc_health.v1 import health_pb2, health_pb2_grpc

        self.port = harness.free_port()  # network.port, which must stay closed
        self.grpc_port = harness.free_port()
        config = {"network": {"bind_address": "127.0.0.1", "port": self.port, "protocol": "grpc",
                              "grpc_port": self.grpc_port},
                  "model": {"path": str(harness.MODEL), "context_size": 512},
                  "security": {"api_keys": [API_KEY]}, "logging": {"level": "info"}}
        config_path = tmp_path / f"grpc-only-{self.grpc_port}.json"
        config_path.write_text(json.dumps(config))
        self.log_path = tmp_path / f"grpc-only-{self.grpc_port}.log"
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([str(harness.BINARY), "serve", "--config", str(config_path)],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        self.pb, self.pb_grpc = pb
        self.channel = grpc.insecure_channel(f"127.0.0.1:{self.grpc_port}")
        self.stub = self.pb_grpc.InferenceStub(self.channel)
        self.health = health_pb2_grpc.HealthStub(self.channel)
        deadline = time.monotonic() + harness.START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.stop()
                pytest.fail(f"tandem serve exited with {self.proc.returncode}:\n{self.log_text()}")
            try:
                if self.health.Check(health_pb2.HealthCheckRequest(), timeout=1).status == \
                        health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.RpcError:
                pass
            time.sleep(0.1)
        self.stop()
        pytest.fail(f"tandem serve did not serve gRPC within {harness.START_TIMEOUT_S} s:\n{self.log_text()}")

    def auth(self, key=API_KEY):
        return [("authorization", f"Bearer {key}")]

    def log_text(self) -> str:
        self.log.flush()
        return self.log_path.read_text(errors="replace")[-4000:]

    def stop(self) -> int | None:
        """SIGTERM, as an operator stops it; its exit status."""
        import signal
        import subprocess

        self.channel.close()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.log.close()
        return self.proc.returncode
