#!/usr/bin/env python3
"""Soak test for `tandem serve`: many clients for a long time, some hanging up mid-stream.

Starts the server as scripts/start.sh does (the demo model, 16 sequences batched, 2,048 tokens of context)
on a free loopback port, then runs --clients threads for --duration seconds. Each loops on requests:
chat or completions, streamed or not, max_tokens varied; --hangup-share of them are streams the client
abandons after a few chunks (FIN or RST). Every answer is checked (status, shape, finish_reason, [DONE]).
At the end it waits for running and queued to return to 0 and reports crashes, unexpected errors, 429s
(counted apart), requests completed, the server's RSS (start, after the first minute, peak, end) and its
open descriptors, then appends a section to benchmarks/RESULTS.md (unless --no-write). Not part of CI.

  .venv/bin/python benchmarks/soak.py --duration 600
"""

import argparse
import datetime
import http.client
import json
import os
import random
import shlex
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROMPTS = [
    "Explain why the sky is blue.",
    "Write a haiku about the sea.",
    "List three uses of copper.",
    "What is a prime number?",
    "Tell me a story about a dragon who learns to bake bread.",
    "Summarise the water cycle for a ten-year-old.",
]
FINISH_REASONS = {"stop", "length"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_command(args, port: int) -> list[str]:
    # scripts/start.sh's flags, on a free port.
    return [args.binary, "serve", "-m", str(Path(args.model).resolve()), "--host", "127.0.0.1", "--port", str(port),
            "--model.max_batch_size", "16", "--ctx-size", "2048", "--cache-size", "1GiB", "--log-level", "warn"]


def get(port: int, path: str) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path)
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


def metrics(port: int) -> dict[str, float]:
    values = {}
    for line in get(port, "/metrics")[1].decode().splitlines():
        if line and not line.startswith("#") and "{" not in line:
            name, value = line.split()[:2]
            values[name] = float(value)
    return values


def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


class Tally:
    """What the clients saw, thread-safe."""

    def __init__(self):
        self.lock = threading.Lock()
        self.outcomes = Counter()
        self.errors = Counter()  # unexpected: message -> count
        self.notes = Counter()  # what came before each 429
        self.tokens = 0

    def ok(self, kind: str, tokens: int = 0) -> str:
        with self.lock:
            self.outcomes[kind] += 1
            self.tokens += tokens
        return kind

    def error(self, message: str) -> str:
        with self.lock:
            self.outcomes["unexpected error"] += 1
            self.errors[message[:160]] += 1
        return "unexpected error"

    def note(self, what: str):
        with self.lock:
            self.notes[what] += 1


def make_request(rng: random.Random, model: str, stream: bool, max_tokens: int) -> tuple[str, dict]:
    prompt = rng.choice(PROMPTS)
    body = {"model": model, "max_tokens": max_tokens, "stream": stream, "temperature": rng.choice([0, 0.7, 1.0]),
            "seed": rng.randint(0, 1 << 30)}
    if rng.random() < 0.5:
        body["messages"] = [{"role": "user", "content": prompt}]
        return "/v1/chat/completions", body
    body["prompt"] = prompt
    return "/v1/completions", body


def check_choice(choice: dict, chat: bool, streamed: bool) -> str:
    """The piece of text in one choice; raises ValueError on a malformed one."""
    if chat:
        part = choice.get("delta" if streamed else "message") or {}
        text = part.get("content") or ""
    else:
        text = choice.get("text")
    if not isinstance(text, str):
        raise ValueError(f"no text in choice {json.dumps(choice)[:100]}")
    return text


def one_exchange(port: int, source: str, rng: random.Random, model: str, hang_up: bool, tally: Tally) -> str:
    """One request and its checks; returns its outcome's name."""
    stream = hang_up or rng.random() < 0.5
    max_tokens = rng.randint(8, 96) if hang_up else rng.choice([1, 2, 4, 8, 16, 32, 64, 128, rng.randint(1, 200)])
    path, body = make_request(rng, model, stream, max_tokens)
    chat = path.endswith("chat/completions")
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300, source_address=(source, 0))
    try:
        conn.request("POST", path, body=json.dumps(body), headers={"Content-Type": "application/json"})
        r = conn.getresponse()
        if r.status == 429:
            r.read()
            return tally.ok("429")
        if r.status == 503:
            answer = r.read()
            if b'"queue_timeout"' in answer:  # waited timeouts.queue_seconds for a slot: overload, by design
                return tally.ok("503 queue_timeout")
            return tally.error(f"{path} status 503: {answer[:120]!r}")
        if r.status != 200:
            return tally.error(f"{path} status {r.status}: {r.read()[:120]!r}")
        if not stream:
            answer = json.loads(r.read())
            choice = answer["choices"][0]
            check_choice(choice, chat, False)
            if choice.get("finish_reason") not in FINISH_REASONS:
                return tally.error(f"finish_reason {choice.get('finish_reason')!r}")
            tokens = answer["usage"]["completion_tokens"]
            if tokens > max_tokens:
                return tally.error(f"{tokens} tokens for max_tokens {max_tokens}")
            return tally.ok("completed", tokens)
        leave_after = rng.randint(1, 4) if hang_up else None
        chunks, finish, done = 0, None, False
        while True:
            line = r.readline()
            if not line:
                break
            line = line.strip()
            if not line.startswith(b"data: "):
                continue
            payload = line[6:]
            if payload == b"[DONE]":
                done = True
                continue
            data = json.loads(payload)
            if "error" in data:
                return tally.error(f"stream error {json.dumps(data)[:120]}")
            for choice in data.get("choices", []):
                check_choice(choice, chat, True)
                finish = choice.get("finish_reason") or finish
            chunks += 1
            if leave_after is not None and chunks >= leave_after and finish is None:
                # The response's file object holds the socket too: set RST on it, then close both.
                sock = getattr(r.fp.raw, "_sock", None) or conn.sock
                if rng.random() < 0.5:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                r.close()
                conn.close()
                return tally.ok("hung up mid-stream")
        if hang_up:
            return tally.ok("hang-up came too late (stream already over)")
        if not done or finish not in FINISH_REASONS:
            return tally.error(f"stream ended with done={done} finish_reason={finish!r}")
        return tally.ok("completed")
    except (OSError, http.client.HTTPException, ValueError, KeyError, IndexError) as e:
        return tally.error(f"{type(e).__name__}: {e}")
    finally:
        conn.close()


def client_loop(port, source, seed, model, deadline, hangup_share, tally):
    rng = random.Random(seed)
    previous = "nothing"
    while time.monotonic() < deadline:
        outcome = one_exchange(port, source, rng, model, rng.random() < hangup_share, tally)
        if outcome in ("429", "503 queue_timeout"):
            # As the openai client does: back off before trying again, rather than spin on a full server.
            tally.note(f"{outcome} after {previous}")
            time.sleep(0.25 + rng.random() * 0.5)
        previous = outcome


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", default=str(ROOT / "build/release/tools/tandem"))
    ap.add_argument("--model", default=str(ROOT / "models/SmolLM2-135M-Instruct.Q4_1.gguf"))
    ap.add_argument("--duration", type=float, default=600, help="seconds of load (default 600)")
    ap.add_argument("--clients", type=int, default=64)
    ap.add_argument("--hangup-share", type=float, default=0.1, help="share of requests abandoned mid-stream")
    ap.add_argument("--sources", type=int, default=8,
                    help="loopback addresses the clients come from, 127.0.0.1 up (default 8: the server allows "
                         "64 connections per address, limits.max_connections_per_address)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--no-write", action="store_true", help="print only; leave RESULTS.md alone")
    args = ap.parse_args()
    if not 1 <= args.clients <= 1000:
        sys.exit("--clients must be 1-1000")
    if not 1 <= args.sources <= 250:
        sys.exit("--sources must be 1-250")

    commit = subprocess.run(["git", "-C", str(ROOT), "log", "-1", "--format=%h"], capture_output=True,
                            text=True).stdout.strip()
    port = free_port()
    log_path = Path(tempfile.mkdtemp(prefix="tandem-soak-")) / "server.log"
    log = open(log_path, "wb")
    proc = subprocess.Popen(server_command(args, port), stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while True:
        if proc.poll() is not None:
            sys.exit(f"server exited with {proc.returncode}; log: {log_path}")
        try:
            if get(port, "/health")[0] == 200:
                break
        except OSError:
            pass
        if time.monotonic() > deadline:
            proc.kill()
            sys.exit("server did not become ready")
        time.sleep(0.2)
    model = json.loads(get(port, "/v1/models")[1])["data"][0]["id"]
    before = metrics(port)

    rss_start, fds_start = rss_bytes(proc.pid), open_fds(proc.pid)
    samples = []  # (seconds since start, rss, running, queued)
    tally = Tally()
    started = time.monotonic()
    load_deadline = started + args.duration
    threads = [threading.Thread(target=client_loop, daemon=True,
                                args=(port, f"127.0.0.{1 + i % args.sources}", args.seed * 1000 + i, model,
                                      load_deadline, args.hangup_share, tally))
               for i in range(args.clients)]
    for t in threads:
        t.start()
    crashed = None
    while any(t.is_alive() for t in threads):
        if proc.poll() is not None:
            crashed = proc.returncode
            break
        try:
            health = json.loads(get(port, "/health")[1])
            samples.append((time.monotonic() - started, rss_bytes(proc.pid), health["running"], health["queued"]))
        except (OSError, ValueError, KeyError) as e:
            tally.error(f"/health probe: {type(e).__name__}: {e}")
        time.sleep(5)
        if time.monotonic() > load_deadline + 360:
            break  # a client stuck 6 minutes past the end: reported below as still running
    for t in threads:
        t.join(timeout=1)
    stuck = sum(t.is_alive() for t in threads)
    wall = time.monotonic() - started

    idle_after = None
    if crashed is None:
        wait_start = time.monotonic()
        while time.monotonic() - wait_start < 60:
            health = json.loads(get(port, "/health")[1])
            if health["running"] == 0 and health["queued"] == 0:
                idle_after = time.monotonic() - wait_start
                break
            time.sleep(0.5)
        after = metrics(port)
        end_health = json.loads(get(port, "/health")[1])
        time.sleep(2)  # closed connections released
        rss_end, fds_end = rss_bytes(proc.pid), open_fds(proc.pid)
        proc.send_signal(signal.SIGTERM)
        exit_code = proc.wait(timeout=90)
    else:
        after, end_health, rss_end, fds_end, exit_code = {}, {}, 0, 0, crashed
    log.close()

    mib = lambda b: b / (1 << 20)  # noqa: E731
    warm = [rss for t, rss, _, _ in samples if t >= 60]
    rss_warm = warm[0] if warm else rss_start
    rss_peak = max([rss for _, rss, _, _ in samples] + [rss_start, rss_end])
    # RSS at each whole minute of load (the first sample at or after it), to show a trend, not two points.
    by_minute = []
    for minute in range(1, int(args.duration // 60) + 1):
        later = [rss for t, rss, _, _ in samples if t >= minute * 60]
        if later:
            by_minute.append(round(mib(later[0]), 1))
    peak_running = max((r for _, _, r, _ in samples), default=0)
    peak_queued = max((q for _, _, _, q in samples), default=0)
    outcomes = tally.outcomes
    requests_done = outcomes["completed"] + outcomes["hung up mid-stream"] + outcomes["hang-up came too late (stream already over)"]
    delta = lambda name: int(after.get(name, 0) - before.get(name, 0))  # noqa: E731
    summary = {
        "duration_s": round(wall, 1),
        "clients": args.clients,
        "source_addresses": args.sources,
        "crashes": 0 if crashed is None else 1,
        "server_exit_code_after_sigterm": exit_code,
        "stuck_clients": stuck,
        "requests": sum(outcomes.values()),
        "completed": outcomes["completed"],
        "hung_up_mid_stream": outcomes["hung up mid-stream"],
        "hang_up_too_late": outcomes["hang-up came too late (stream already over)"],
        "http_429": outcomes["429"],
        "http_503_queue_timeout": outcomes["503 queue_timeout"],
        "refusals_by_previous_outcome": dict(tally.notes),
        "unexpected_errors": outcomes["unexpected error"],
        "error_samples": dict(tally.errors.most_common(5)),
        "generated_tokens": delta("tandem_generated_tokens_total"),
        "cancelled_by_server": delta("tandem_cancelled_requests_total"),
        "rejected_429_by_server": delta("tandem_rejected_requests_total"),
        "peak_running": peak_running,
        "peak_queued": peak_queued,
        "end_running": end_health.get("running"),
        "end_queued": end_health.get("queued"),
        "idle_after_s": None if idle_after is None else round(idle_after, 1),
        "rss_mib": {"start": round(mib(rss_start), 1), "after_60s": round(mib(rss_warm), 1),
                    "peak": round(mib(rss_peak), 1), "end": round(mib(rss_end), 1), "each_minute": by_minute},
        "open_fds": {"start": fds_start, "end": fds_end},
        "server_log": str(log_path),
    }
    for k, v in summary.items():
        print(f"{k:>32}: {v}")
    if crashed is not None:
        print(f"the server died with {crashed}; its log's tail:\n" + log_path.read_text(errors="replace")[-3000:])

    if args.no_write:
        return
    command = " ".join(shlex.quote(a) for a in ["benchmarks/soak.py"] + sys.argv[1:])
    built = datetime.datetime.fromtimestamp(Path(args.binary).stat().st_mtime, datetime.timezone.utc)
    rate = requests_done / wall if wall else 0
    lines = [
        f"## {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC — soak, {Path(args.model).name}, "
        f"{args.clients} clients, {wall / 60:.1f} minutes",
        "",
        f"Command: `{command}` (HEAD {commit} when the run began; the binary was built "
        f"{built:%H:%M} UTC from the working tree, which may hold others' uncommitted work in progress)",
        "",
        f"The clients come from {args.sources} loopback addresses (127.0.0.1 up), a new connection per request.",
        "",
        "The server as scripts/start.sh starts it (16 sequences batched, 2,048 tokens of context, "
        "server.max_concurrent_requests at its default 64). Each client loops: chat or completions, streamed or "
        f"not, max_tokens 1-200; {args.hangup_share:.0%} of requests are streams the client abandons after 1-4 "
        "chunks (half with FIN, half with RST). Caveat: other engineers were compiling on the same 2 cores "
        "throughout, so the rates are not a speed measurement.",
        "",
        "| figure | value |",
        "|---|---:|",
        f"| crashes | {summary['crashes']} |",
        f"| unexpected errors | {summary['unexpected_errors']} |",
        f"| 429s and 503 queue_timeouts (counted apart; the client backs off 0.25-0.75 s) | "
        f"{summary['http_429']} / {summary['http_503_queue_timeout']} "
        f"({', '.join(f'{n} {k}' for k, n in tally.notes.most_common()) or 'none'}) |",
        f"| requests answered in full | {summary['completed']} |",
        f"| streams abandoned mid-stream | {summary['hung_up_mid_stream']} (+{summary['hang_up_too_late']} that "
        "ended before the hang-up) |",
        f"| generations cancelled by the server | {summary['cancelled_by_server']} |",
        f"| requests/s (all kinds) | {rate:.1f} |",
        f"| tokens generated | {summary['generated_tokens']} |",
        f"| peak running / queued | {peak_running} / {peak_queued} |",
        f"| running / queued at the end | {summary['end_running']} / {summary['end_queued']} "
        f"(idle {summary['idle_after_s']} s after the load stopped) |",
        f"| RSS MiB: start / after 60 s / peak / end | {mib(rss_start):.1f} / {mib(rss_warm):.1f} / "
        f"{mib(rss_peak):.1f} / {mib(rss_end):.1f} |",
        f"| RSS MiB at each minute of load | {' / '.join(f'{v:.1f}' for v in by_minute) or '-'} |",
        f"| open descriptors: start / end | {fds_start} / {fds_end} |",
        f"| exit code after SIGTERM | {exit_code} |",
    ]
    lines += ["", "429s are expected here: server.max_concurrent_requests (64) equals the number of clients, so a "
              "client that abandoned a stream (or just read a whole answer) and asks again at once can find its "
              "previous request still counted until the server has cancelled (or finished) it. The table says what "
              "each client did just before each refusal."]
    if tally.errors:
        lines += ["", "Unexpected errors: " + "; ".join(f"{n} x {m}" for m, n in tally.errors.most_common(5))]
    path = ROOT / "benchmarks/RESULTS.md"
    insert_section(path, "\n".join(lines) + "\n")
    print(f"added to {path}")


def insert_section(path: Path, section: str):
    """Newest first: before the first run's heading, below the file's header paragraphs."""
    text = path.read_text()
    first_run = text.find("\n## ")
    path.write_text(text[:first_run + 1] + section + "\n" + text[first_run + 1:] if first_run >= 0
                    else text + "\n" + section)


if __name__ == "__main__":
    main()
