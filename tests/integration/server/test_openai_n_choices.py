"""Issue 17, n > 1 with the official `openai` client on the real server: several choices per
request, each with its own seed stream, usage counted as OpenAI does (the prompt once, completion
tokens summed), streamed chunks carrying each choice's index, and the prompt computed once (the
other choices copy its KV cache, seen in `timings`)."""

import time

import openai
import pytest
import requests

from conftest import API_KEY, MODEL_ID

MESSAGES = [{"role": "user", "content": "Write one sentence about the sea."}]


def client_for(server):
    return openai.OpenAI(base_url=server.base_url + "/v1", api_key=API_KEY, max_retries=0, timeout=120)


@pytest.fixture(scope="module")
def batched(tmp_path_factory):
    """A server whose four sequence slots let the choices run side by side."""
    from conftest import Server

    s = Server(tmp_path_factory.mktemp("n_choices"), {"model": {"max_batch_size": 4}})
    yield s
    s.stop()


@pytest.fixture(scope="module")
def client(batched):
    return client_for(batched)


def test_three_chat_choices_with_indexes_and_usage(client):
    r = client.chat.completions.create(model=MODEL_ID, messages=MESSAGES, n=3, max_tokens=12, temperature=0.9, seed=11)
    assert [c.index for c in r.choices] == [0, 1, 2]
    for c in r.choices:
        assert c.message.role == "assistant"
        assert c.finish_reason in ("stop", "length")
    alone = client.chat.completions.create(model=MODEL_ID, messages=MESSAGES, max_tokens=12, temperature=0.9, seed=11)
    # The prompt counted once; the completion tokens of all three.
    assert r.usage.prompt_tokens == alone.usage.prompt_tokens
    lengths = [client.chat.completions.create(model=MODEL_ID, messages=MESSAGES, max_tokens=12, temperature=0.9,
                                              seed=11 + i).usage.completion_tokens for i in range(3)]
    assert r.usage.completion_tokens == sum(lengths)
    assert r.usage.total_tokens == r.usage.prompt_tokens + r.usage.completion_tokens
    # Choice i samples with seed + i: choice 0 is the lone request with the same seed.
    assert r.choices[0].message.content == alone.choices[0].message.content


def test_choices_differ_at_temperature_and_repeat_with_the_same_seed(client):
    def ask():
        r = client.chat.completions.create(model=MODEL_ID, messages=MESSAGES, n=3, max_tokens=16, temperature=1.0, seed=5)
        return [c.message.content for c in r.choices]

    first = ask()
    assert len(set(first)) > 1, first
    assert ask() == first


def test_completions_n_with_logprobs_per_choice(client):
    r = client.completions.create(model=MODEL_ID, prompt="The sea is", n=2, max_tokens=5, temperature=0.8, seed=3,
                                  logprobs=2)
    assert [c.index for c in r.choices] == [0, 1]
    for c in r.choices:
        assert len(c.logprobs.tokens) == len(c.logprobs.token_logprobs) > 0
        assert "".join(c.logprobs.tokens) == c.text
    assert r.usage.completion_tokens == sum(len(c.logprobs.tokens) for c in r.choices)


def test_the_prompt_is_computed_once(client):
    # A prompt no earlier request has cached (past the system prompt, which they may share): the
    # first choice computes it, the others copy it and compute only its last token (for their own
    # logits).
    content = f"Request {time.time()}: name a colour, in one plain word, with nothing else around it at all."
    messages = [{"role": "user", "content": content}]
    r = client.chat.completions.create(model=MODEL_ID, messages=messages, n=3, max_tokens=4, temperature=0.7, seed=2)
    t = r.model_extra["timings"]
    n_prompt = r.usage.prompt_tokens
    assert t["prompt_n"] + t["cache_n"] == 3 * n_prompt
    assert t["prompt_n"] <= n_prompt + 2, t  # not 3 x the prompt
    assert t["predicted_n"] == r.usage.completion_tokens


def test_streaming_three_choices(client):
    stream = client.chat.completions.create(model=MODEL_ID, messages=MESSAGES, n=3, max_tokens=10, temperature=0.8,
                                            seed=9, stream=True, stream_options={"include_usage": True})
    text = {0: "", 1: "", 2: ""}
    roles, finishes, usage = set(), {}, None
    for chunk in stream:
        if not chunk.choices:
            usage = chunk.usage
            continue
        for c in chunk.choices:
            if c.delta.role:
                roles.add(c.index)
            text[c.index] += c.delta.content or ""
            if c.finish_reason:
                assert c.index not in finishes
                finishes[c.index] = c.finish_reason
    assert roles == {0, 1, 2}
    assert set(finishes) == {0, 1, 2}
    whole = client.chat.completions.create(model=MODEL_ID, messages=MESSAGES, n=3, max_tokens=10, temperature=0.8, seed=9)
    assert [text[i] for i in range(3)] == [c.message.content for c in whole.choices]
    assert usage is not None
    assert usage.prompt_tokens == whole.usage.prompt_tokens
    assert usage.completion_tokens == whole.usage.completion_tokens


def test_streaming_completions_carry_the_index(client):
    stream = client.completions.create(model=MODEL_ID, prompt="Once upon a time", n=2, max_tokens=6, temperature=0.5,
                                       seed=1, stream=True)
    seen = {c.index for chunk in stream for c in chunk.choices}
    assert seen == {0, 1}


def test_n_above_the_limit_is_refused_naming_n(client):
    for n in (17, 0):
        with pytest.raises(openai.BadRequestError) as e:
            client.chat.completions.create(model=MODEL_ID, messages=MESSAGES, n=n, max_tokens=4)
        assert e.value.body["param"] == "n"


def test_n_above_what_the_server_runs_at_once_is_refused(make_server):
    s = make_server(server={"max_concurrent_requests": 2})
    with pytest.raises(openai.BadRequestError) as e:
        client_for(s).chat.completions.create(model=MODEL_ID, messages=MESSAGES, n=3, max_tokens=4)
    assert e.value.body["param"] == "n"
    assert "max_concurrent_requests" in e.value.body["message"]
    r = client_for(s).chat.completions.create(model=MODEL_ID, messages=MESSAGES, n=2, max_tokens=4)
    assert len(r.choices) == 2


def metric(server, name) -> float:
    text = requests.get(server.base_url + "/metrics", headers={"Authorization": f"Bearer {API_KEY}"}, timeout=10).text
    return next(float(line.split()[1]) for line in text.splitlines() if line.startswith(name + " "))


def test_a_client_that_hangs_up_cancels_all_choices(batched):
    cancelled_before = metric(batched, "tandem_cancelled_requests_total")
    # No end of text, im_start or im_end: the choices would run to max_tokens, so only the hang-up
    # can end them early, which the cancellation count below proves it did.
    body = {"model": MODEL_ID, "messages": MESSAGES, "n": 3, "max_tokens": 400, "stream": True,
            "logit_bias": {"0": -100, "1": -100, "2": -100}}
    with requests.post(batched.base_url + "/v1/chat/completions", json=body, stream=True, timeout=60,
                       headers={"Authorization": f"Bearer {API_KEY}"}) as r:
        assert r.status_code == 200
        lines = r.iter_lines()
        for _ in range(8):
            next(lines)
    deadline = time.monotonic() + 60  # a generous wait: each choice stops at its next step
    while time.monotonic() < deadline:
        running = metric(batched, "tandem_running_sequences")
        if running == 0:
            break
        time.sleep(0.1)
    else:
        pytest.fail(f"the choices went on after the client hung up: {running} running")
    assert metric(batched, "tandem_cancelled_requests_total") - cancelled_before == 3, "each choice is cancelled"
