"""Steady background traffic through the gateway, recording which link served each request and when."""

import threading
import time
from dataclasses import dataclass

import requests


@dataclass
class Sample:
    sent: float  # time.monotonic() when the request was sent
    done: float
    status: int | None  # None: no HTTP response at all
    link: str | None
    detail: str


class Load:
    """`clients` threads, each sending small greedy completions back to back until stop()."""

    def __init__(self, gateway, clients: int = 2, pause_s: float = 0.02, **body):
        self.gateway = gateway
        self.body = {"max_tokens": 4, **body}
        self.pause_s = pause_s
        self.samples: list[Sample] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(clients)]

    def __enter__(self):
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def stop(self):
        self._stop.set()
        for t in self._threads:
            t.join(timeout=60)

    def _run(self):
        while not self._stop.is_set():
            sent = time.monotonic()
            try:
                r = self.gateway.complete(timeout=30, **self.body)
                sample = Sample(sent, time.monotonic(), r.status_code, r.headers.get("X-Tandem-Link"),
                                r.text[:300] if r.status_code != 200 else "")
            except requests.RequestException as e:
                sample = Sample(sent, time.monotonic(), None, None, repr(e))
            with self._lock:
                self.samples.append(sample)
            time.sleep(self.pause_s)

    def snapshot(self) -> list[Sample]:
        with self._lock:
            return list(self.samples)

    def first(self, link: str, sent_after: float) -> Sample | None:
        """The first request sent after `sent_after` that `link` served."""
        matches = [s for s in self.snapshot() if s.sent >= sent_after and s.link == link and s.status == 200]
        return min(matches, key=lambda s: s.sent) if matches else None

    def failures(self) -> list[Sample]:
        return [s for s in self.snapshot() if s.status != 200]
