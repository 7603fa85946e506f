"""Continuous batching through the real server: concurrency changes no answer."""

import concurrent.futures

import openai

from conftest import API_KEY, MODEL_ID

PROMPT = [{"role": "user", "content": "Write one sentence about the sea."}]


def stream_text(base_url: str, max_tokens: int = 24) -> str:
    client = openai.OpenAI(base_url=base_url + "/v1", api_key=API_KEY, max_retries=0, timeout=300)
    stream = client.chat.completions.create(
        model=MODEL_ID, messages=PROMPT, max_tokens=max_tokens, temperature=0, stream=True
    )
    return "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)


def test_32_concurrent_streams_equal_a_lone_request(make_server):
    s = make_server(model={"max_batch_size": 16}, server={"max_concurrent_requests": 64})
    lone = stream_text(s.base_url)
    assert lone
    with concurrent.futures.ThreadPoolExecutor(max_workers=32) as pool:
        texts = list(pool.map(lambda _: stream_text(s.base_url), range(32)))
    assert texts == [lone] * 32


def test_shared_prefix_is_reused_and_counted(make_server):
    import re

    import requests

    s = make_server(model={"max_batch_size": 2})

    def reused() -> float:
        text = requests.get(s.base_url + "/metrics", headers=s.headers(), timeout=10).text
        return float(re.search(r"^tandem_prompt_tokens_reused_total (\S+)$", text, re.M).group(1))

    assert stream_text(s.base_url, 4)
    before = reused()
    assert stream_text(s.base_url, 4)  # the same chat again: its whole prompt but one token is cached
    assert reused() - before > 20
