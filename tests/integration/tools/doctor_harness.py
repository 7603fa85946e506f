"""What the `tandem doctor` tests (test_doctor.py, test_doctor_grpc.py) share: running doctor and
checking its JSON report's shape, finding checks by name, writing serve and gateway configs, and a
process that holds a port (so that doctor has someone to name)."""

import contextlib
import json
import subprocess
import sys
from pathlib import Path

from gateway_harness import BINARY, STORIES, free_port

CHECK_KEYS = ["name", "status", "message", "fix"]


def doctor(*args, user: int | None = None) -> tuple[int, list[dict]]:
    """`tandem doctor --json ARGS` (as `user` when given): its exit code and checks, each checked
    for the report's shape, and the exit code against the failures."""
    command = [str(BINARY), "doctor", "--json", *args]
    if user is not None:
        command = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups", *command]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert done.returncode in (0, 1), f"exit {done.returncode}:\n{done.stderr}\n{done.stdout}"
    report = json.loads(done.stdout)
    assert list(report) == ["checks"]
    for check in report["checks"]:
        assert list(check) == CHECK_KEYS, check
        assert check["status"] in ("PASS", "WARN", "FAIL")
        assert check["message"]
        if check["status"] != "PASS":
            assert check["fix"], check
    failed = any(c["status"] == "FAIL" for c in report["checks"])
    assert done.returncode == (1 if failed else 0)
    return done.returncode, report["checks"]


def backend_config(backend) -> str:
    """The config file the harness started `tandem serve --config FILE` with."""
    return backend.args[backend.args.index("--config") + 1]


def by_name(checks: list[dict], name: str) -> dict:
    found = [c for c in checks if c["name"] == name]
    assert found, f"no check {name} in {[c['name'] for c in checks]}"
    return found[0]


def failures(checks: list[dict]) -> list[str]:
    return [c["name"] for c in checks if c["status"] == "FAIL"]


def serve_config(path: Path, **sections) -> Path:
    """A serve config on a free loopback port with stories260K; each keyword updates that section."""
    config = {"network": {"bind_address": "127.0.0.1", "port": free_port()},
              "model": {"path": str(STORIES), "context_size": 256}}
    for section, values in sections.items():
        config.setdefault(section, {}).update(values)
    path.write_text(json.dumps(config))
    return path


def gateway_config(path: Path, links: list[dict]) -> str:
    """A gateway config on a free loopback port with these links."""
    path.write_text(json.dumps({"network": {"bind_address": "127.0.0.1", "port": free_port()}, "links": links}))
    return str(path)


@contextlib.contextmanager
def port_holder(port: int):
    """Another process (python) listening on 127.0.0.1:port until the block ends; yields it and
    the command name /proc gives it (what doctor names)."""
    holder = subprocess.Popen([sys.executable, "-c",
                               "import socket, time\n"
                               f"s = socket.socket(); s.bind(('127.0.0.1', {port})); s.listen()\n"
                               "print('ready', flush=True); time.sleep(120)"],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ready"
        yield holder, Path(f"/proc/{holder.pid}/comm").read_text().strip()
    finally:
        holder.kill()
        holder.wait()
