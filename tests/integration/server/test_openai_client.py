"""The official `openai` client against `tandem serve`: chat, completions, streaming, models, errors."""

import openai
import pytest

from conftest import API_KEY, MODEL_ID


@pytest.fixture(scope="module")
def client(server):
    return openai.OpenAI(base_url=server.base_url + "/v1", api_key=API_KEY, max_retries=0, timeout=60)


def test_models_lists_the_loaded_model(client):
    models = client.models.list()
    assert [m.id for m in models.data] == [MODEL_ID]
    assert models.data[0].owned_by == "tandem"


def test_retrieve_model(client):
    assert client.models.retrieve(MODEL_ID).id == MODEL_ID
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("gpt-4o")


def test_chat_completion(client):
    r = client.chat.completions.create(
        model=MODEL_ID,
        messages=[{"role": "system", "content": "You are terse."}, {"role": "user", "content": "Say hello."}],
        max_tokens=8,
        temperature=0,
    )
    assert r.object == "chat.completion"
    assert r.id.startswith("chatcmpl-")
    assert r.model == MODEL_ID
    choice = r.choices[0]
    assert choice.message.role == "assistant"
    assert isinstance(choice.message.content, str) and choice.message.content
    assert choice.finish_reason in ("stop", "length")
    assert r.usage.prompt_tokens > 5
    assert 0 < r.usage.completion_tokens <= 8
    assert r.usage.total_tokens == r.usage.prompt_tokens + r.usage.completion_tokens


def test_max_tokens_ends_with_length(client):
    r = client.chat.completions.create(
        model=MODEL_ID,
        messages=[{"role": "user", "content": "Count from one to one hundred in words."}],
        max_completion_tokens=3,
        temperature=0,
    )
    assert r.choices[0].finish_reason == "length"
    assert r.usage.completion_tokens == 3


def test_greedy_is_deterministic_and_seed_reproduces(client):
    def ask(**kw):
        return client.completions.create(model=MODEL_ID, prompt="The capital of France is", max_tokens=6, **kw)

    assert ask(temperature=0).choices[0].text == ask(temperature=0).choices[0].text
    a = ask(temperature=0.9, seed=1234).choices[0].text
    b = ask(temperature=0.9, seed=1234).choices[0].text
    assert a == b


def test_text_completion(client):
    r = client.completions.create(model=MODEL_ID, prompt="Once upon a time", max_tokens=5, temperature=0)
    assert r.object == "text_completion"
    assert r.id.startswith("cmpl-")
    assert r.choices[0].finish_reason == "length"
    assert r.usage.completion_tokens == 5


def test_stop_string_ends_early(client):
    full = client.completions.create(model=MODEL_ID, prompt="1, 2, 3, 4,", max_tokens=12, temperature=0)
    text = full.choices[0].text
    assert len(text) > 3
    stop = text[2:4]
    r = client.completions.create(model=MODEL_ID, prompt="1, 2, 3, 4,", max_tokens=12, temperature=0, stop=[stop])
    assert r.choices[0].finish_reason == "stop"
    assert stop not in r.choices[0].text
    assert text.startswith(r.choices[0].text)


def test_chat_streaming_matches_non_streaming(client):
    messages = [{"role": "user", "content": "Name a colour."}]
    whole = client.chat.completions.create(model=MODEL_ID, messages=messages, max_tokens=10, temperature=0)
    stream = client.chat.completions.create(
        model=MODEL_ID, messages=messages, max_tokens=10, temperature=0, stream=True,
        stream_options={"include_usage": True},
    )
    pieces, finish, usage, roles = [], None, None, []
    for chunk in stream:
        assert chunk.object == "chat.completion.chunk"
        if chunk.usage is not None:
            usage = chunk.usage
            assert chunk.choices == []
            continue
        delta = chunk.choices[0].delta
        if delta.role:
            roles.append(delta.role)
        if delta.content:
            pieces.append(delta.content)
        if chunk.choices[0].finish_reason:
            finish = chunk.choices[0].finish_reason
    assert roles == ["assistant"]
    assert "".join(pieces) == whole.choices[0].message.content
    assert finish == whole.choices[0].finish_reason
    assert usage is not None and usage.completion_tokens == whole.usage.completion_tokens
    assert usage.prompt_tokens == whole.usage.prompt_tokens


def test_completion_streaming(client):
    stream = client.completions.create(model=MODEL_ID, prompt="Hello", max_tokens=6, temperature=0, stream=True)
    chunks = list(stream)
    assert chunks[-1].choices[0].finish_reason == "length"
    text = "".join(c.choices[0].text for c in chunks)
    whole = client.completions.create(model=MODEL_ID, prompt="Hello", max_tokens=6, temperature=0)
    assert text == whole.choices[0].text


def test_sampling_options_are_accepted(client):
    r = client.chat.completions.create(
        model=MODEL_ID,
        messages=[{"role": "user", "content": "Hi"}],
        max_tokens=4,
        temperature=0.7,
        top_p=0.9,
        presence_penalty=0.5,
        frequency_penalty=0.5,
        logit_bias={"0": -100},
        seed=7,
        extra_body={"top_k": 20, "min_p": 0.05},
    )
    assert r.choices[0].message.content is not None


def test_unknown_model_is_not_found(client):
    with pytest.raises(openai.NotFoundError) as e:
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "x"}], max_tokens=2)
    assert e.value.code == "model_not_found"


def test_bad_parameter_is_a_bad_request(client):
    with pytest.raises(openai.BadRequestError) as e:
        client.chat.completions.create(
            model=MODEL_ID, messages=[{"role": "user", "content": "x"}], max_tokens=2, temperature=5
        )
    assert e.value.param == "temperature"


def test_wrong_key_is_an_authentication_error(server):
    bad = openai.OpenAI(base_url=server.base_url + "/v1", api_key="wrong-key", max_retries=0, timeout=10)
    with pytest.raises(openai.AuthenticationError):
        bad.models.list()
