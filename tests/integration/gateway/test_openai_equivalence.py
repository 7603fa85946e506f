"""Greedy output through the gateway is exactly the backend's own, with the official openai client.

The primary serves the demo chat model (stories260K has no chat template); the backup serves
stories260K, so /v1/models through the gateway must list both.
"""

import openai
import pytest

from gateway_harness import BACKEND_KEY, GATEWAY_KEY, SMOLLM2, SMOLLM2_ID, STORIES_ID

MESSAGES = [
    {"role": "system", "content": "You are a concise assistant."},
    {"role": "user", "content": "Name three colours of the rainbow."},
]
PROMPT = "The capital of France is"


# Once with HTTP links and once with gRPC links (issue 14): the gateway translates to gRPC and back.
@pytest.fixture(scope="module", params=["http", "grpc"])
def clients(tmp_path_factory, request):
    import gateway_harness
    from gateway_harness import Backend, Gateway

    tmp = tmp_path_factory.mktemp("equivalence")
    gateway_harness.LINK_PROTOCOL["value"] = request.param
    try:
        primary = Backend(tmp, "primary", model=SMOLLM2)
        backup = Backend(tmp, "backup")
        gw = Gateway(tmp, [("primary", primary.url), ("backup", backup.url)])
    finally:
        gateway_harness.LINK_PROTOCOL["value"] = "http"
    direct = openai.OpenAI(base_url=primary.url + "/v1", api_key=BACKEND_KEY, max_retries=0, timeout=60)
    via = openai.OpenAI(base_url=gw.url + "/v1", api_key=GATEWAY_KEY, max_retries=0, timeout=60)
    yield direct, via
    for p in (gw, primary, backup):
        p.stop()


def chat(client, **kwargs):
    return client.chat.completions.create(model=SMOLLM2_ID, messages=MESSAGES, max_tokens=48, temperature=0,
                                          **kwargs)


def complete(client, **kwargs):
    return client.completions.create(model=SMOLLM2_ID, prompt=PROMPT, max_tokens=48, temperature=0, **kwargs)


def test_models_are_merged(clients):
    direct, via = clients
    ids = sorted(m.id for m in via.models.list())
    assert ids == sorted([SMOLLM2_ID, STORIES_ID])
    assert [m.id for m in direct.models.list()] == [SMOLLM2_ID]


def test_chat_is_identical(clients):
    direct, via = clients
    a, b = chat(direct), chat(via)
    assert a.choices[0].message.content
    assert b.choices[0].message.content == a.choices[0].message.content
    assert b.choices[0].finish_reason == a.choices[0].finish_reason
    assert b.usage.prompt_tokens == a.usage.prompt_tokens
    assert b.usage.completion_tokens == a.usage.completion_tokens
    assert b.model == a.model


def test_chat_stream_is_identical(clients):
    direct, via = clients

    def collect(client):
        pieces, finish, usage = [], None, None
        for chunk in chat(client, stream=True, stream_options={"include_usage": True}):
            if chunk.usage:
                usage = chunk.usage
            for choice in chunk.choices:
                pieces.append(choice.delta.content or "")
                finish = choice.finish_reason or finish
        return pieces, finish, usage

    a, b = collect(direct), collect(via)
    assert "".join(a[0])
    assert b[0] == a[0], "the gateway changed the stream's chunks"
    assert b[1] == a[1]
    assert b[2].completion_tokens == a[2].completion_tokens
    # And the stream equals the non-streamed reply.
    assert "".join(b[0]) == chat(via).choices[0].message.content


def test_completion_is_identical(clients):
    direct, via = clients
    a, b = complete(direct), complete(via)
    assert a.choices[0].text
    assert b.choices[0].text == a.choices[0].text
    assert b.usage.completion_tokens == a.usage.completion_tokens


def test_completion_stream_is_identical(clients):
    direct, via = clients

    def collect(client):
        return [c.choices[0].text for c in complete(client, stream=True) if c.choices]

    a, b = collect(direct), collect(via)
    assert "".join(a)
    assert b == a
    assert "".join(b) == complete(via).choices[0].text


def test_the_header_names_the_link(clients):
    _, via = clients
    raw = via.completions.with_raw_response.create(model=SMOLLM2_ID, prompt=PROMPT, max_tokens=2, temperature=0)
    assert raw.headers["X-Tandem-Link"] == "primary"


def test_backend_errors_pass_through_in_openai_shape(clients):
    direct, via = clients
    for client in (direct, via):
        with pytest.raises(openai.BadRequestError) as e:
            client.chat.completions.create(model=SMOLLM2_ID, messages=[], max_tokens=2)
        assert e.value.status_code == 400
    with pytest.raises(openai.NotFoundError):
        via.completions.create(model="no-such-model", prompt="x", max_tokens=1)


def test_gzip_responses_decode_identically(clients):
    """The gateway passes gzip through (or compresses) so that a client asking for it gets the same text."""
    import requests

    direct, via = clients
    body = {"model": SMOLLM2_ID, "prompt": PROMPT, "max_tokens": 48, "temperature": 0}
    gw_url = str(via.base_url).rstrip("/") + "/completions"
    r = requests.post(gw_url, json=body, timeout=60,
                      headers={"Authorization": f"Bearer {GATEWAY_KEY}", "Accept-Encoding": "gzip"})
    assert r.status_code == 200, r.text
    assert r.json()["choices"][0]["text"] == complete(direct).choices[0].text
