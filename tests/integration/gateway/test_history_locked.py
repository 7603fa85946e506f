"""A locked history file slows only the history routes. Another process (this test, with Python's
sqlite3) holds the write lock on history.path, so every conversation write waits out SQLite's busy
timeout (2 s) and fails; those calls run on the gateway's history thread, and the HTTP I/O threads
keep answering /health and /api/links meanwhile. When the calls ran on the I/O threads, a few writes
at once held both of them for seconds and every other connection waited."""

import signal
import sqlite3
import threading
import time

import requests

N_WRITES = 4  # each waits 2 s for the lock: 8 s of blocked I/O threads if they ran there


def test_a_locked_history_file_does_not_stall_health(make_backend, make_gateway, tmp_path):
    backend = make_backend()
    db = tmp_path / "history.sqlite"
    gateway = make_gateway([("primary", backend.url)], extra={"history": {"path": str(db)}})
    url = gateway.url + "/api/conversations"
    created = requests.post(url, headers=gateway.headers(), json={"title": "before the lock"}, timeout=10)
    assert created.status_code == 201, created.text

    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # the write lock, until ROLLBACK
    answers = []

    def write(i):
        r = requests.post(url, headers=gateway.headers(), json={"title": f"while locked {i}"}, timeout=60)
        answers.append((r.status_code, r.text))

    writers = [threading.Thread(target=write, args=(i,)) for i in range(N_WRITES)]
    try:
        for w in writers:
            w.start()
        time.sleep(0.5)  # the writes have reached the gateway and wait for the lock
        start = time.monotonic()
        health = requests.get(gateway.url + "/health", timeout=60)
        links = requests.get(gateway.url + "/api/links", headers=gateway.headers(), timeout=60)
        took = time.monotonic() - start
        still_waiting = sum(w.is_alive() for w in writers)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    for w in writers:
        w.join(timeout=60)

    assert health.status_code == 200 and links.status_code == 200
    # Generous: a stalled I/O thread would keep these waiting for several seconds.
    assert took < 3.0, f"/health and /api/links took {took:.2f} s while the history file was locked"
    assert still_waiting > 0, "the writes were not waiting on the lock when /health was asked"
    # Every write got an answer: stored after the lock went, or a 500 that says the database is locked.
    assert len(answers) == N_WRITES
    for status, text in answers:
        assert status == 201 or (status == 500 and "locked" in text), (status, text)
    listed = requests.get(url, headers=gateway.headers(), timeout=10)
    assert listed.status_code == 200 and "before the lock" in listed.text


def test_stopping_while_history_calls_wait_exits_cleanly(make_backend, make_gateway, tmp_path):
    """SIGTERM with writes still waiting for the lock: the gateway finishes them (each fails after
    the busy timeout) after its HTTP server stopped, and exits 0 rather than crashing."""
    backend = make_backend()
    db = tmp_path / "history.sqlite"
    gateway = make_gateway([("primary", backend.url)],
                           extra={"history": {"path": str(db)}, "timeouts": {"shutdown_grace_seconds": 1}})
    url = gateway.url + "/api/conversations"
    assert requests.post(url, headers=gateway.headers(), json={"title": "x"}, timeout=10).status_code == 201
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")

    def write():
        try:
            requests.post(url, headers=gateway.headers(), json={"title": "late"}, timeout=30)
        except requests.RequestException:
            pass  # the gateway may close the connection as it stops

    writers = [threading.Thread(target=write) for _ in range(3)]
    try:
        for w in writers:
            w.start()
        time.sleep(0.5)
        gateway.proc.send_signal(signal.SIGTERM)
        code = gateway.proc.wait(timeout=30)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
        for w in writers:
            w.join(timeout=30)
    assert code == 0, gateway.log_text()
