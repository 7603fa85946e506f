"""logprobs / top_logprobs with the official `openai` client, chat and completions, whole and streamed.
The engine-level check that the numbers equal teacher forcing on the same text is
tests/unit/engine/logprobs_test.cpp; here the shapes, the counts and the agreement between modes."""

import math

import openai
import pytest

from conftest import API_KEY, MODEL_ID

MESSAGES = [{"role": "user", "content": "Name three colors."}]


@pytest.fixture(scope="module")
def client(server):
    return openai.OpenAI(base_url=server.base_url + "/v1", api_key=API_KEY, max_retries=0, timeout=60)


def check_chat_entry(entry, n_top):
    assert entry.logprob <= 0
    assert bytes(entry.bytes).decode("utf-8", errors="replace") == entry.token or "\ufffd" in entry.token
    assert len(entry.top_logprobs) == n_top
    tops = [t.logprob for t in entry.top_logprobs]
    assert tops == sorted(tops, reverse=True)
    assert all(t <= 0 for t in tops) and math.fsum(math.exp(t) for t in tops) <= 1.0001


def test_chat_logprobs_greedy(client):
    r = client.chat.completions.create(model=MODEL_ID, messages=MESSAGES, max_tokens=12, temperature=0,
                                       logprobs=True, top_logprobs=3)
    content = r.choices[0].logprobs.content
    assert len(content) == r.usage.completion_tokens
    for entry in content:
        check_chat_entry(entry, 3)
        # Greedy picks the most likely token, so it heads its own alternatives.
        assert entry.logprob == pytest.approx(entry.top_logprobs[0].logprob, abs=1e-6)
    assert "".join(e.token for e in content) == r.choices[0].message.content


def test_chat_logprobs_streamed_equal_the_whole_response(client):
    kwargs = dict(model=MODEL_ID, messages=MESSAGES, max_tokens=12, temperature=0, logprobs=True, top_logprobs=2)
    whole = client.chat.completions.create(**kwargs).choices[0].logprobs.content
    entries = []
    for chunk in client.chat.completions.create(stream=True, **kwargs):
        if chunk.choices and chunk.choices[0].logprobs:
            entries += chunk.choices[0].logprobs.content
    assert [(e.token, round(e.logprob, 4)) for e in entries] == [(e.token, round(e.logprob, 4)) for e in whole]


def test_logprobs_without_top_and_off_by_default(client):
    r = client.chat.completions.create(model=MODEL_ID, messages=MESSAGES, max_tokens=4, logprobs=True)
    assert all(e.top_logprobs == [] for e in r.choices[0].logprobs.content)
    r = client.chat.completions.create(model=MODEL_ID, messages=MESSAGES, max_tokens=4)
    assert r.choices[0].logprobs is None


def test_completion_logprobs(client):
    r = client.completions.create(model=MODEL_ID, prompt="The capital of France is", max_tokens=8, temperature=0,
                                  logprobs=5)
    lp = r.choices[0].logprobs
    n = r.usage.completion_tokens
    assert len(lp.tokens) == len(lp.token_logprobs) == len(lp.top_logprobs) == len(lp.text_offset) == n
    assert "".join(lp.tokens) == r.choices[0].text
    assert lp.text_offset[0] == 0
    for i in range(n):
        assert lp.token_logprobs[i] <= 0
        assert 1 <= len(lp.top_logprobs[i]) <= 5
        assert max(lp.top_logprobs[i].values()) == pytest.approx(lp.token_logprobs[i], abs=1e-6)
        if i:
            assert lp.text_offset[i] == lp.text_offset[i - 1] + len(lp.tokens[i - 1].encode())


def test_completion_logprobs_streamed(client):
    kwargs = dict(model=MODEL_ID, prompt="The capital of France is", max_tokens=8, temperature=0, logprobs=1)
    whole = client.completions.create(**kwargs).choices[0].logprobs
    tokens, offsets = [], []
    for chunk in client.completions.create(stream=True, **kwargs):
        if chunk.choices and chunk.choices[0].logprobs:
            tokens += chunk.choices[0].logprobs.tokens
            offsets += chunk.choices[0].logprobs.text_offset
    assert tokens == whole.tokens and offsets == whole.text_offset


@pytest.mark.parametrize("body, param", [
    ({"logprobs": True, "top_logprobs": 21}, "top_logprobs"),
    ({"top_logprobs": 2}, "top_logprobs"),
    ({"logprobs": 3}, "logprobs"),
])
def test_bad_logprobs_are_400_naming_the_parameter(client, body, param):
    with pytest.raises(openai.BadRequestError) as e:
        client.chat.completions.create(model=MODEL_ID, messages=MESSAGES, max_tokens=2, extra_body=body)
    assert e.value.param == param
