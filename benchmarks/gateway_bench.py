#!/usr/bin/env python3
"""What `tandem gateway` costs and how fast it fails over, against the backend direct and nginx.

One run on loopback: a `tandem serve` backend on the demo model (16 parallel sequences, as
scripts/start.sh), the gateway in front of it, and nginx (Debian package; installed with apt if
missing) as a plain reverse proxy to the same backend (proxy_buffering off, upstream keepalive; the
config is rendered from gateway_nginx.conf.template). Then:

- added latency at 1 client: p50/p99 of a 1-token completion and TTFT/end-to-end of a streamed chat
  reply, the three targets interleaved request by request so that the shared machine's drift hits
  them alike; "added" is a target's figure minus the direct one.
- throughput at 1 and 16 clients: streamed chat replies, the targets in alternating order over
  --rounds rounds, each target's best round kept.
- footprint: the gateway's RSS and CPU while idle (and nginx's RSS).
- failover, --trials trials each on two stories260K backends with the issue's example failover
  settings (probe every 1 s, slow after 3 probes above 200 ms): the time from `kill -9` of the
  primary, under steady load, to the first request served by the backup; and the same from +250 ms
  each way on the primary (a userspace latency proxy, tests/integration/gateway/latency_proxy.py).
  A fresh gateway per trial, so that the flap rule's growing hold does not carry over.

Targets (issue 11): added p50 within nginx's + 0.5 ms; >= 95% of direct throughput at 16 clients.
Writes a section into benchmarks/RESULTS.md (below its header paragraphs) unless --no-write.

  .venv/bin/python benchmarks/gateway_bench.py
"""

import argparse
import datetime
import http.client
import json
import os
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests/integration/gateway"))
from latency_proxy import LatencyProxy  # noqa: E402

STORIES = ROOT.parent / "shared/models/stories260K.gguf"
# The example failover settings.
EXAMPLE_FAILOVER = {"latency_threshold_ms": 200, "probe_interval_ms": 1000, "probe_timeout_ms": 1000,
                    "slow_probes": 3, "failed_probes": 2, "recover_probes": 10, "min_hold_seconds": 30}
CHAT_MESSAGES = [{"role": "user", "content": "Write a short poem about the sea."}]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def wait_health(port: int, proc: subprocess.Popen, what: str, timeout: float = 120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"{what} exited with {proc.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/health")
            if conn.getresponse().status == 200:
                conn.close()
                return
            conn.close()
        except OSError:
            pass
        time.sleep(0.05)
    proc.kill()
    sys.exit(f"{what} was not healthy within {timeout} s")


def stop(proc: subprocess.Popen):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


class Processes:
    """Everything this run starts, stopped at the end whatever happens."""

    def __init__(self, binary: str, workdir: Path):
        self.binary, self.workdir, self.procs = binary, workdir, []

    def spawn(self, args, log_name):
        log = open(self.workdir / log_name, "ab")
        proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
        self.procs.append(proc)
        return proc

    def backend(self, model: Path, port: int | None = None, batch: int = 16):
        port = port or free_port()
        cfg = self.workdir / f"backend-{port}.json"
        cfg.write_text(json.dumps({
            "network": {"bind_address": "127.0.0.1", "port": port},
            "model": {"path": str(model.resolve()), "context_size": 2048, "max_batch_size": batch},
            "server": {"max_concurrent_requests": 256},
            "logging": {"level": "warn"},
        }))
        proc = self.spawn([self.binary, "serve", "--config", str(cfg)], f"backend-{port}.log")
        wait_health(port, proc, f"backend on {model.name}")
        return proc, port

    def gateway(self, links, failover=None):
        port = free_port()
        cfg = self.workdir / f"gateway-{port}.json"
        cfg.write_text(json.dumps({
            "network": {"bind_address": "127.0.0.1", "port": port},
            "links": [{"name": n, "url": f"http://127.0.0.1:{p}", "protocol": "http"} for n, p in links],
            "failover": failover or EXAMPLE_FAILOVER,
            "security": {"api_keys": []},
            "logging": {"level": "warn"},
        }))
        proc = self.spawn([self.binary, "gateway", "--config", str(cfg)], f"gateway-{port}.log")
        wait_health(port, proc, "tandem gateway")
        return proc, port

    def nginx(self, upstream_port: int):
        exe = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
        if exe is None:
            print("nginx is missing: installing the Debian package", flush=True)
            sudo = [] if os.geteuid() == 0 else ["sudo"]
            subprocess.run(sudo + ["apt-get", "install", "-y", "nginx"], check=True)
            exe = shutil.which("nginx") or "/usr/sbin/nginx"
        prefix = self.workdir / "nginx"
        prefix.mkdir(exist_ok=True)
        port = free_port()
        conf = (ROOT / "benchmarks/gateway_nginx.conf.template").read_text()
        for key, value in {"@PREFIX@": str(prefix), "@PORT@": str(port), "@UPSTREAM_PORT@": str(upstream_port),
                           "@WORKERS@": "auto"}.items():
            conf = conf.replace(key, value)
        (prefix / "nginx.conf").write_text(conf)
        proc = self.spawn([exe, "-p", str(prefix), "-c", str(prefix / "nginx.conf"), "-e",
                           str(prefix / "error.log")], "nginx.log")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        wait_health(port, proc, "nginx")
        version = subprocess.run([exe, "-v"], capture_output=True, text=True).stderr.strip()
        return proc, port, version.replace("nginx version: ", "")

    def stop_all(self):
        for proc in reversed(self.procs):
            stop(proc)


# ---- one request over a kept-alive connection ----------------------------------------------------------


class Client:
    """One keep-alive connection to one port; http.client keeps the client's own cost small and steady."""

    def __init__(self, port: int):
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)

    def post(self, path: str, body: dict, stream: bool):
        """Returns (end-to-end s, time to first token s or None, status, X-Tandem-Link)."""
        data = json.dumps(body).encode()
        start = time.perf_counter()
        try:
            self.conn.request("POST", path, data, {"Content-Type": "application/json"})
            resp = self.conn.getresponse()
        except (OSError, http.client.HTTPException):
            self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
            return time.perf_counter() - start, None, None, None
        ttft = None
        if not stream:
            resp.read()
        else:
            pending = b""
            while True:
                chunk = resp.read1(65536)
                if not chunk:
                    break
                if ttft is None:
                    pending += chunk
                    if has_token(pending):
                        ttft = time.perf_counter() - start
        return time.perf_counter() - start, ttft, resp.status, resp.getheader("X-Tandem-Link")


def has_token(sse: bytes) -> bool:
    """True once an event carries generated text (a chat stream's first event only announces the role)."""
    for event in sse.split(b"\n\n")[:-1]:
        if not event.startswith(b"data: {"):
            continue
        for choice in json.loads(event[6:]).get("choices", []):
            if choice.get("text") or (choice.get("delta") or {}).get("content"):
                return True
    return False


def chat_body(model_id, max_tokens, i=0):
    return {"model": model_id, "messages": CHAT_MESSAGES, "max_tokens": max_tokens, "temperature": 0.7,
            "seed": i, "stream": True}


# ---- measurements --------------------------------------------------------------------------------------


def latency(targets: dict, model_id: str, n: int) -> dict:
    """1 client, the targets interleaved request by request."""
    clients = {name: Client(port) for name, port in targets.items()}
    names = list(targets)
    short = {name: [] for name in names}
    e2e = {name: [] for name in names}
    ttft = {name: [] for name in names}
    for c in clients.values():  # warm the connections and the backend
        for _ in range(3):
            c.post("/v1/completions", {"model": model_id, "prompt": "Hi", "max_tokens": 1}, False)
    for i in range(n):
        order = names[i % len(names):] + names[:i % len(names)]
        for name in order:
            t, _, status, _ = clients[name].post("/v1/completions", {"model": model_id, "prompt": "Hello",
                                                                    "max_tokens": 1, "temperature": 0}, False)
            assert status == 200, f"{name}: status {status}"
            short[name].append(t)
        for name in order:
            t, first, status, _ = clients[name].post("/v1/chat/completions", chat_body(model_id, 16, i), True)
            assert status == 200 and first is not None, f"{name}: status {status}"
            e2e[name].append(t)
            ttft[name].append(first)
    out = {}
    for name in names:
        out[name] = {"short_p50": statistics.median(short[name]), "short_p99": pct(short[name], 99),
                     "ttft_p50": statistics.median(ttft[name]), "ttft_p99": pct(ttft[name], 99),
                     "e2e_p50": statistics.median(e2e[name]), "e2e_p99": pct(e2e[name], 99)}
    return out


def throughput(port: int, model_id: str, clients: int, n_requests: int, max_tokens: int) -> dict:
    counter = iter(range(n_requests))
    lock = threading.Lock()
    results, failures = [], []

    def worker():
        c = Client(port)
        while True:
            with lock:
                i = next(counter, None)
            if i is None:
                return
            t, first, status, _ = c.post("/v1/chat/completions", chat_body(model_id, max_tokens, i), True)
            with lock:
                (results if status == 200 else failures).append((t, first))

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    return {"rps": len(results) / wall, "failures": len(failures),
            "e2e_p50": statistics.median(r[0] for r in results), "ttft_p50": statistics.median(r[1] for r in results)}


def footprint(pid: int, seconds: float = 5.0) -> dict:
    def cpu_ticks():
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])  # utime + stime

    def rss_kib():
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return 0

    before = cpu_ticks()
    time.sleep(seconds)
    cpu = (cpu_ticks() - before) / os.sysconf("SC_CLK_TCK") / seconds
    return {"rss_mib": rss_kib() / 1024, "cpu_pct": cpu * 100}


def tree_rss_mib(pid: int) -> float:
    """RSS of a process and its children (nginx's master and workers)."""
    total = 0
    for child in [pid] + [int(p) for p in subprocess.run(["pgrep", "-P", str(pid)], capture_output=True,
                                                          text=True).stdout.split()]:
        for line in Path(f"/proc/{child}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total / 1024


class SteadyLoad:
    """Two clients sending 1-token completions through the gateway back to back."""

    def __init__(self, port: int):
        self.port, self.samples, self.stop_flag = port, [], threading.Event()
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.run) for _ in range(2)]
        for t in self.threads:
            t.start()

    def run(self):
        c = Client(self.port)
        while not self.stop_flag.is_set():
            sent = time.monotonic()
            _, _, status, link = c.post("/v1/completions", {"model": "stories260K", "prompt": "Once",
                                                            "max_tokens": 1}, False)
            with self.lock:
                self.samples.append((sent, time.monotonic(), status, link))
            time.sleep(0.005)

    def first_on(self, link: str, after: float):
        with self.lock:
            done = [s[1] for s in self.samples if s[0] >= after and s[3] == link and s[2] == 200]
        return min(done) if done else None

    def finish(self):
        self.stop_flag.set()
        for t in self.threads:
            t.join()
        return sum(1 for s in self.samples if s[2] != 200)


def failover_trials(procs: Processes, trials: int) -> dict:
    primary, primary_port = procs.backend(STORIES)
    _, backup_port = procs.backend(STORIES)
    kill_times, kill_failures = [], 0
    for trial in range(trials):
        gw, gw_port = procs.gateway([("primary", primary_port), ("backup", backup_port)])
        load = SteadyLoad(gw_port)
        time.sleep(0.5)
        primary.send_signal(signal.SIGKILL)
        primary.wait()
        killed = time.monotonic()
        while load.first_on("backup", killed) is None and time.monotonic() < killed + 30:
            time.sleep(0.005)
        served = load.first_on("backup", killed)
        kill_failures += load.finish()
        kill_times.append((served - killed) if served else float("inf"))
        print(f"kill -9 trial {trial + 1}: {kill_times[-1] * 1000:.0f} ms", flush=True)
        stop(gw)
        primary, _ = procs.backend(STORIES, port=primary_port)

    proxy = LatencyProxy(primary_port)
    slow_times, slow_failures = [], 0
    try:
        for trial in range(trials):
            proxy.set_delay(0)
            gw, gw_port = procs.gateway([("primary", proxy.port), ("backup", backup_port)])
            load = SteadyLoad(gw_port)
            time.sleep(1.5)
            proxy.set_delay(250)
            slowed = time.monotonic()
            while load.first_on("backup", slowed) is None and time.monotonic() < slowed + 60:
                time.sleep(0.01)
            served = load.first_on("backup", slowed)
            slow_failures += load.finish()
            slow_times.append((served - slowed) if served else float("inf"))
            print(f"+250 ms trial {trial + 1}: {slow_times[-1] * 1000:.0f} ms", flush=True)
            stop(gw)
    finally:
        proxy.close()
    return {"kill": kill_times, "kill_failures": kill_failures, "slow": slow_times, "slow_failures": slow_failures}


# ---- report --------------------------------------------------------------------------------------------


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f}"


def report(args, model_id, lat, thr, fp, fo, nginx_version, load_before, load_after) -> str:
    names = [n for n in ("direct", "nginx", "gateway") if n in lat]
    cmd = " ".join(shlex.quote(a) for a in ["benchmarks/gateway_bench.py"] + sys.argv[1:])
    lines = [f"## {datetime.datetime.now():%Y-%m-%d %H:%M} — gateway, {Path(args.model).name}", "",
             f"Command: `{cmd}`", "",
             f"Backend: `tandem serve`, 16 parallel sequences, 2048 tokens of context; {nginx_version} "
             "(worker_processes auto, proxy_buffering off, upstream keepalive); loopback; "
             f"load average {load_before} before, {load_after} after{'; ' + args.note if args.note else ''}.", "",
             f"Latency at 1 client, {args.latency_requests} requests per target interleaved: a 1-token completion, "
             "and a streamed 16-token chat reply (TTFT: its first token). Added = minus direct.", "",
             "| target | 1-token p50 ms | p99 | added p50 | added p99 | TTFT p50 ms | p99 | added p50 | stream e2e p50 ms | p99 |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    d = lat["direct"]
    for n in names:
        x = lat[n]
        lines.append(f"| {n} | {ms(x['short_p50'])} | {ms(x['short_p99'])} | {ms(x['short_p50'] - d['short_p50'])} | "
                     f"{ms(x['short_p99'] - d['short_p99'])} | {ms(x['ttft_p50'])} | {ms(x['ttft_p99'])} | "
                     f"{ms(x['ttft_p50'] - d['ttft_p50'])} | {ms(x['e2e_p50'])} | {ms(x['e2e_p99'])} |")
    lines += ["", f"Throughput: streamed {args.max_tokens}-token chat replies, best of {args.rounds} rounds "
              "(targets in alternating order).", "",
              "| clients | " + " | ".join(f"req/s {n}" for n in names) + " | gateway / direct | "
              + " | ".join(f"TTFT p50 ms {n}" for n in names) + " | failed |",
              "|---:|" + "---:|" * (2 * len(names) + 2)]
    for c in args.clients:
        row = thr[c]
        lines.append(f"| {c} | " + " | ".join(f"{row[n]['rps']:.1f}" for n in names)
                     + f" | {row['gateway']['rps'] / row['direct']['rps'] * 100:.1f}% | "
                     + " | ".join(f"{row[n]['ttft_p50'] * 1000:.1f}" for n in names)
                     + f" | {sum(row[n]['failures'] for n in names)} |")
    added_gw = lat["gateway"]["short_p50"] - d["short_p50"]
    verdicts = []
    if "nginx" in lat:
        added_nginx = lat["nginx"]["short_p50"] - d["short_p50"]
        ok = added_gw <= added_nginx + 0.0005
        verdicts.append(f"added p50 {ms(added_gw)} ms vs nginx's {ms(added_nginx)} ms + 0.5: "
                        f"{'met' if ok else 'NOT met'}")
    top = max(args.clients)
    share = thr[top]["gateway"]["rps"] / thr[top]["direct"]["rps"]
    verdicts.append(f"{share * 100:.1f}% of direct throughput at {top} clients (>= 95%): "
                    f"{'met' if share >= 0.95 else 'NOT met'}")
    lines += ["", "Targets: " + "; ".join(verdicts) + ".", "",
              f"Footprint: gateway RSS {fp['start_rss_mib']:.1f} MiB at start; idle for 5 s after the load, "
              f"RSS {fp['rss_mib']:.1f} MiB, CPU {fp['cpu_pct']:.2f}%"
              + (f"; nginx (master + workers) RSS {fp['nginx_rss_mib']:.1f} MiB" if "nginx_rss_mib" in fp else "")
              + "."]
    if fo:
        def summary(times):
            return f"median {statistics.median(times) * 1000:.0f} ms, worst {max(times) * 1000:.0f} ms"

        lines += ["", f"Failover, {args.trials} trials each, two stories260K backends, the issue's example settings "
                  "(probe every 1000 ms, slow after 3 probes above 200 ms), 2 clients sending 1-token completions "
                  "throughout, a fresh gateway per trial; time from the event to the first response from the backup:",
                  "", "| event | median ms | worst ms | failed requests |", "|---|---:|---:|---:|",
                  f"| kill -9 of the primary | {statistics.median(fo['kill']) * 1000:.0f} | {max(fo['kill']) * 1000:.0f} "
                  f"| {fo['kill_failures']} |",
                  f"| +250 ms each way on the primary | {statistics.median(fo['slow']) * 1000:.0f} | "
                  f"{max(fo['slow']) * 1000:.0f} | {fo['slow_failures']} |"]
        print("kill -9:", summary(fo["kill"]), "| +250 ms:", summary(fo["slow"]))
    return "\n".join(lines) + "\n"


def write_results(section: str):
    path = ROOT / "benchmarks/RESULTS.md"
    text = path.read_text()
    # Newest first: before the first run's heading, below the file's header paragraphs.
    first_run = text.find("\n## ")
    path.write_text(text[:first_run + 1] + section + "\n" + text[first_run + 1:] if first_run >= 0
                    else text + "\n" + section)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", default=os.environ.get("TANDEM_BINARY", str(ROOT / "build/release/tools/tandem")))
    ap.add_argument("--model", default=str(ROOT / "models/SmolLM2-135M-Instruct.Q4_1.gguf"))
    ap.add_argument("--latency-requests", type=int, default=200, help="per target, at 1 client")
    ap.add_argument("--clients", type=lambda s: [int(x) for x in s.split(",")], default=[1, 16])
    ap.add_argument("--requests", type=int, default=96, help="per throughput measurement (a third at 1 client)")
    ap.add_argument("--max-tokens", type=int, default=32)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--trials", type=int, default=10, help="failover trials of each kind (0: none)")
    ap.add_argument("--no-nginx", action="store_true")
    ap.add_argument("--note", default="", help="a remark for RESULTS.md, such as other work on the machine")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()

    load_before = os.getloadavg()[0]
    procs = Processes(args.binary, Path(tempfile.mkdtemp(prefix="gateway-bench-")))
    try:
        _, backend_port = procs.backend(Path(args.model))
        gw, gw_port = procs.gateway([("backend", backend_port)])
        targets = {"direct": backend_port, "gateway": gw_port}
        nginx_version = "-"
        if not args.no_nginx:
            nginx, nginx_port, nginx_version = procs.nginx(backend_port)
            targets = {"direct": backend_port, "nginx": nginx_port, "gateway": gw_port}
        model_id = Path(args.model).stem
        fp_start = footprint(gw.pid, 2)
        print(f"gateway idle at start: {fp_start}", flush=True)

        lat = latency(targets, model_id, args.latency_requests)
        print(json.dumps(lat, indent=1), flush=True)
        thr = {}
        names = list(targets)
        for c in args.clients:
            n = args.requests if c > 1 else max(8, args.requests // 3)
            thr[c] = {}
            for r in range(args.rounds):
                order = names[r % len(names):] + names[:r % len(names)]
                for name in order:
                    result = throughput(targets[name], model_id, c, n, args.max_tokens)
                    print(f"{c} clients, round {r + 1}, {name}: {result}", flush=True)
                    if name not in thr[c] or result["rps"] > thr[c][name]["rps"]:
                        thr[c][name] = result
        fp = footprint(gw.pid)
        fp["start_rss_mib"] = fp_start["rss_mib"]
        if not args.no_nginx:
            fp["nginx_rss_mib"] = tree_rss_mib(nginx.pid)
        print(f"idle footprint: {fp}", flush=True)
        fo = failover_trials(procs, args.trials) if args.trials else None
    finally:
        procs.stop_all()
    section = report(args, model_id, lat, thr, fp, fo, nginx_version, f"{load_before:.2f}",
                     f"{os.getloadavg()[0]:.2f}")
    print(section)
    if not args.no_write:
        write_results(section)


if __name__ == "__main__":
    main()
