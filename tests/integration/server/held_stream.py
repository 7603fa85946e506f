"""A streamed completion that keeps a sequence busy until the test hangs it up.

A request of fixed length used to keep the server busy while a test checks something else ends
early once the engine gets faster (SmolLM2-135M runs a few hundred tokens in about a second), and
the test then checks nothing, or fails by chance. A HeldStream asks for as many tokens as a
HOLD_CONTEXT context takes, with every token that could end it banned, and the test hangs it up
when its checks are done: hang_up() asserts that the stream was still generating then.
"""

import threading
import time

import requests

from conftest import MODEL_ID

HOLD_CONTEXT = 4096  # model.context_size of a server whose sequences a HeldStream holds
HOLD_TOKENS = 4000  # ~16 s at 250 tokens/s: seconds even on a machine several times faster
# SmolLM2's end-of-text, im_start and im_end: the generation cannot end before max_tokens.
NO_STOP_TOKENS = {"0": -100, "1": -100, "2": -100}


class HeldStream:
    """A streamed /v1/completions request in its own thread, from its start until hang_up()."""

    def __init__(self, server, prompt: str = "Once upon a time", max_tokens: int = HOLD_TOKENS):
        self.status = None
        self.error = None
        self.body = b""
        self.ended_by_itself = None  # set when the thread ends: True if [DONE] came before the hang-up
        self.started = threading.Event()  # the first bytes arrived (or the request failed)
        self._hang_up = threading.Event()
        body = {"model": MODEL_ID, "prompt": prompt, "max_tokens": max_tokens, "stream": True,
                "logit_bias": NO_STOP_TOKENS}
        self.thread = threading.Thread(target=self._run, args=(server, body), daemon=True)
        self.thread.start()

    def _run(self, server, body):
        try:
            with requests.post(server.base_url + "/v1/completions", headers=server.headers(), json=body,
                               stream=True, timeout=300) as r:
                self.status = r.status_code
                for chunk in r.iter_content(chunk_size=None):
                    self.body += chunk
                    self.started.set()
                    if self._hang_up.is_set():
                        break  # closing the connection cancels the generation
                self.ended_by_itself = self.body.endswith(b"data: [DONE]\n\n")
        except Exception as e:  # recorded for the assertions
            self.error = repr(e)
        finally:
            self.started.set()

    def wait_started(self, timeout: float = 60):
        assert self.started.wait(timeout), "the held stream sent nothing"
        assert self.error is None and self.status == 200, (self.status, self.error, self.body[:300])

    def hang_up(self, timeout: float = 60):
        """Closes the stream and asserts it had not ended by itself: the checks made meanwhile ran
        while it held its sequence."""
        self._hang_up.set()
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "the held stream did not stop after the hang-up"
        assert self.error is None and self.status == 200, (self.status, self.error, self.body[-300:])
        assert self.ended_by_itself is False, (
            "the held stream ended before the hang-up, so the checks may have run with nothing held: "
            f"{self.body[-300:]!r}")


def hang_up_all(streams: list[HeldStream], timeout: float = 120):
    """Hangs up every stream, those already generating first. A queued stream sends nothing (no
    headers either) until a running one leaves, so hanging it up first would wait on a running stream
    that is only ever hung up later: it would end by itself (a fast engine) or the queued one would hit
    timeouts.queue_seconds (a sanitizer build). Which of several streams started together runs first
    is the scheduler's choice, not their order in the list."""
    left = list(streams)
    deadline = time.monotonic() + timeout
    while left:
        started = [stream for stream in left if stream.started.is_set()]
        if not started:
            assert time.monotonic() < deadline, f"{len(left)} held streams never started after the others left"
            time.sleep(0.02)
            continue
        for stream in started:
            stream.hang_up()
            left.remove(stream)
