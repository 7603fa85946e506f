"""`kill -9` of the active backend during 16 concurrent streams, then its restart on the same port.

The primary runs at most 4 sequences at a time, so at the kill 4 streams have started and 12 wait in
its queue, having sent nothing. The gateway must retry those 12 on the backup (which takes them all
at once); the started ones end with an SSE error event and no [DONE]; no client sees a broken
connection; new requests succeed on the backup within 1 s of the kill.
"""

import json
import socket
import time

import requests

from gateway_harness import FAST_FAILOVER, SMOLLM2, SMOLLM2_ID, SMOLLM2_NO_STOP, wait_until
from streams import start_streams

CLIENTS = 16
PRIMARY_BATCH = 4
# As long as stories260K's 2048-token context allows: the primary's streams must still be running at
# the kill, which follows their first token by a few milliseconds (or more, with 16 client threads on a
# busy machine); 600 tokens of this tiny model took little more than that on a fast one.
MAX_TOKENS = 1900


def test_kill9_of_the_active_backend_during_16_streams(make_backend, make_gateway):
    primary = make_backend("primary", max_batch_size=PRIMARY_BATCH)
    backup = make_backend("backup", max_batch_size=32)
    gw = make_gateway([("primary", primary.url), ("backup", backup.url)])

    results, threads, started = start_streams(gw, CLIENTS, MAX_TOKENS)
    assert started.wait(30), f"no stream started\n{gw.log_text()}"
    primary.kill9()
    killed = time.monotonic()

    # New requests right after the kill: every one succeeds, on the backup, the first within 1 s.
    after = []
    while time.monotonic() < killed + 1.5:
        sent = time.monotonic()
        try:
            r = gw.complete(timeout=10)
            after.append((sent, time.monotonic(), r.status_code, r.headers.get("X-Tandem-Link"), r.text[:200]))
        except requests.RequestException as e:
            after.append((sent, time.monotonic(), None, None, repr(e)))
    for t in threads:
        t.join(timeout=120)
    log = gw.log_text()

    assert not any(t.is_alive() for t in threads), "a stream hung"
    for sent, done, status, link, detail in after:
        assert status == 200, f"a new request {sent - killed:.2f} s after the kill failed: {detail}\n{log}"
        assert link == "backup"
    assert after[0][1] - killed <= 1.0, f"the first new request took {after[0][1] - killed:.2f} s\n{log}"

    for i, r in enumerate(results):
        assert r.exception is None, f"stream {i}: the connection broke: {r.exception}\n{log}"
        assert r.status == 200, f"stream {i}: status {r.status}"
        assert r.done != (r.error is not None), f"stream {i}: done={r.done}, error={r.error}"
        assert r.events_after_end == 0, f"stream {i}: events after its end"
    cut = [r for r in results if r.error is not None]
    whole = [r for r in results if r.done]
    # The streams that had started were on the primary and end with the error event (a stream whose
    # headers went out before its first token may be among them: bytes had gone to the client).
    assert 1 <= len(cut) <= PRIMARY_BATCH, f"{len(cut)} streams were cut"
    for r in cut:
        assert r.link == "primary"
        assert isinstance(r.error.get("message"), str) and r.error["message"]
    # The ones that had sent nothing were retried on the backup, transparently and completely.
    assert len(whole) >= CLIENTS - PRIMARY_BATCH
    for r in whole:
        assert r.link == "backup", "a stream finished on the primary before the kill"
        # "length": it ran to max_tokens. The number of events is no measure of completeness: a
        # gRPC link joins the text that arrives while a write is in flight into one chunk.
        assert r.finish_reason == "length"
        assert "".join(r.texts)

    status = gw.links()
    primary_link = next(link for link in status["links"] if link["name"] == "primary")
    assert primary_link["state"] == "down"
    assert status["active"] == "backup"
    assert primary_link["errors_total"] >= 1

    # Restarted on the same port: healthy again, and back in front after the recover rule.
    primary.start()
    wait_until(lambda: gw.link("primary")["state"] == "healthy", 30, what="the restarted primary healthy")
    recover_s = FAST_FAILOVER["min_hold_seconds"] + FAST_FAILOVER["recover_probes"] * 0.1
    wait_until(lambda: gw.links()["active"] == "primary", recover_s + 10, what="the primary active again")
    r = gw.complete()
    assert r.status_code == 200 and r.headers["X-Tandem-Link"] == "primary"


def test_kill9_of_the_backup_does_not_disturb_the_primary(make_backend, make_gateway):
    primary, backup = make_backend("primary"), make_backend("backup")
    gw = make_gateway([("primary", primary.url), ("backup", backup.url)])
    backup.kill9()
    wait_until(lambda: gw.link("backup")["state"] == "down", 30, what="the backup seen down")
    status = gw.links()
    assert status["active"] == "primary" and status["mode"] == "normal"
    r = gw.complete()
    assert r.status_code == 200 and r.headers["X-Tandem-Link"] == "primary"
    assert requests.get(gw.url + "/health", timeout=5).status_code == 200


def test_a_client_that_disconnects_cancels_its_upstream_request(make_backend, make_gateway):
    # The demo model on the primary, asked for 4000 tokens that cannot end early: seconds of generation
    # on any engine, so only the hang-up can cancel it (stories260K's 2000 tokens took a fraction of a
    # second, about as long as the hang-up took to reach the backend on a busy machine).
    primary = make_backend("primary", model=SMOLLM2, context=4096, max_batch_size=4)
    backup = make_backend("backup")
    gw = make_gateway([("primary", primary.url), ("backup", backup.url)])

    def cancelled() -> float:
        text = requests.get(primary.url + "/metrics", headers=primary.headers(), timeout=5).text
        return next(float(line.split()[1]) for line in text.splitlines()
                    if line.startswith("tandem_cancelled_requests_total "))

    before = cancelled()
    body = json.dumps({"model": SMOLLM2_ID, "prompt": "Once", "max_tokens": 4000, "stream": True,
                       "logit_bias": SMOLLM2_NO_STOP}).encode()
    request = (f"POST /v1/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {gw.headers()['Authorization'][7:]}"
               f"\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body
    with socket.create_connection(("127.0.0.1", gw.port), timeout=30) as s:
        s.sendall(request)
        received = b""
        while received.count(b"data: ") < 3:
            data = s.recv(4096)
            assert data, "the gateway closed the stream early"
            received += data
    hung_up = time.monotonic()
    wait_until(lambda: cancelled() > before, 30, what="the backend's cancellation")
    assert time.monotonic() - hung_up < 2, "the upstream request was not cancelled at once"
    assert gw.link("primary")["in_flight"] == 0
