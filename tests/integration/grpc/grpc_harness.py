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
