"""Streaming completions through the gateway, read as raw server-sent events so that error events show."""

import json
import threading
import time
from dataclasses import dataclass, field

import requests

from gateway_harness import NO_EOS, STORIES_ID


@dataclass
class StreamResult:
    status: int | None = None
    link: str | None = None
    texts: list[str] = field(default_factory=list)
    finish_reason: str | None = None
    first_text_at: float | None = None  # time.monotonic() of the first token received
    error: dict | None = None  # the payload of a `data: {"error": ...}` event
    done: bool = False  # `data: [DONE]` arrived
    events_after_end: int = 0  # events after [DONE] or after the error event (there must be none)
    exception: str | None = None  # the connection failed below HTTP


def read_stream(gateway, prompt: str, max_tokens: int, result: StreamResult, started: threading.Event | None = None):
    body = {"model": STORIES_ID, "prompt": prompt, "max_tokens": max_tokens, "temperature": 0, "stream": True,
            "logit_bias": NO_EOS}
    try:
        with requests.post(gateway.url + "/v1/completions", headers=gateway.headers(), json=body, stream=True,
                           timeout=120) as r:
            result.status = r.status_code
            result.link = r.headers.get("X-Tandem-Link")
            for line in r.iter_lines(chunk_size=None):
                if not line.startswith(b"data: "):
                    continue
                if result.done or result.error is not None:
                    result.events_after_end += 1
                    continue
                payload = line[len(b"data: "):]
                if payload == b"[DONE]":
                    result.done = True
                    continue
                event = json.loads(payload)
                if "error" in event:
                    result.error = event["error"]
                    continue
                for choice in event.get("choices", []):
                    if choice.get("text"):
                        result.texts.append(choice["text"])
                        if result.first_text_at is None:
                            result.first_text_at = time.monotonic()
                            if started:
                                started.set()
                    result.finish_reason = choice.get("finish_reason") or result.finish_reason
    except requests.RequestException as e:
        result.exception = repr(e)


def start_streams(gateway, n: int, max_tokens: int) -> tuple[list[StreamResult], list[threading.Thread], threading.Event]:
    """n concurrent streams; the event is set when the first token of any of them arrives."""
    results = [StreamResult() for _ in range(n)]
    started = threading.Event()
    threads = [threading.Thread(target=read_stream, args=(gateway, f"Once upon a time, story {i}:", max_tokens,
                                                         results[i], started), daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    return results, threads, started
