"""Issue 17, item 1 with the official `openai` client: llama.cpp-style `timings` in responses,
model.aliases, model.chat_template_file and the ChatML fallback for a model that ships no template."""

import openai
import pytest

from conftest import API_KEY, MODEL_ID, ROOT

STORIES = ROOT.parent / "shared/models/stories260K.gguf"
MESSAGES = [{"role": "user", "content": "Say hello."}]


def client_for(server):
    return openai.OpenAI(base_url=server.base_url + "/v1", api_key=API_KEY, max_retries=0, timeout=60)


@pytest.fixture(scope="module")
def client(server):
    return client_for(server)


def check_timings(t, usage):
    assert t["prompt_n"] + t["cache_n"] == usage.prompt_tokens
    assert t["predicted_n"] == usage.completion_tokens
    assert t["prompt_ms"] > 0 and t["predicted_ms"] >= 0
    assert t["prompt_per_second"] == pytest.approx(1000 * t["prompt_n"] / t["prompt_ms"])
    if t["predicted_n"] > 0 and t["predicted_ms"] > 0:
        assert t["predicted_per_second"] == pytest.approx(1000 * t["predicted_n"] / t["predicted_ms"])
        assert t["predicted_per_token_ms"] == pytest.approx(t["predicted_ms"] / t["predicted_n"])


def test_chat_response_has_timings(client):
    r = client.chat.completions.create(model=MODEL_ID, messages=MESSAGES, max_tokens=8, temperature=0)
    check_timings(r.model_extra["timings"], r.usage)


def test_completion_response_has_timings(client):
    r = client.completions.create(model=MODEL_ID, prompt="Once upon a time", max_tokens=6, temperature=0)
    check_timings(r.model_extra["timings"], r.usage)


def test_a_repeated_prompt_reports_its_cached_tokens(client):
    prompt = "The capital of France is Paris. The capital of Italy is"
    client.completions.create(model=MODEL_ID, prompt=prompt, max_tokens=2, temperature=0)
    r = client.completions.create(model=MODEL_ID, prompt=prompt, max_tokens=2, temperature=0)
    t = r.model_extra["timings"]
    assert t["cache_n"] > 0
    check_timings(t, r.usage)


def test_stream_ends_with_timings_on_the_finish_chunk(client):
    stream = client.chat.completions.create(
        model=MODEL_ID, messages=MESSAGES, max_tokens=8, temperature=0, stream=True,
        stream_options={"include_usage": True})
    chunks = list(stream)
    finish = [c for c in chunks if c.choices and c.choices[0].finish_reason]
    assert len(finish) == 1
    usage = chunks[-1].usage
    check_timings(finish[0].model_extra["timings"], usage)
    # Only the finish chunk carries them, as llama.cpp's server sends them.
    assert all("timings" not in (c.model_extra or {}) for c in chunks if c is not finish[0])


def test_aliases_reach_the_model_and_responses_name_its_id(make_server):
    s = make_server(model={"aliases": ["gpt-4o-mini", "local"]})
    c = client_for(s)
    r = c.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, max_tokens=4, temperature=0)
    assert r.model == MODEL_ID
    assert c.completions.create(model="local", prompt="Hi", max_tokens=2).model == MODEL_ID
    assert c.models.retrieve("local").id == MODEL_ID
    with pytest.raises(openai.NotFoundError):
        c.chat.completions.create(model="gpt-4o", messages=MESSAGES, max_tokens=4)


def test_chat_template_file_replaces_the_models_template(make_server, tmp_path):
    template = tmp_path / "custom.jinja"
    template.write_text("{{ raise_exception('the custom template was used') }}")
    s = make_server(model={"chat_template_file": str(template)})
    with pytest.raises(openai.BadRequestError) as e:
        client_for(s).chat.completions.create(model=MODEL_ID, messages=MESSAGES, max_tokens=4)
    assert "the custom template was used" in str(e.value)


def test_a_model_without_a_template_chats_in_chatml_with_a_warning(make_server):
    if not STORIES.exists():
        pytest.skip(f"{STORIES} is missing")
    s = make_server(model={"path": str(STORIES), "context_size": 256})
    r = client_for(s).chat.completions.create(model="stories260K", messages=MESSAGES, max_tokens=8, temperature=0)
    assert r.choices[0].finish_reason in ("stop", "length")
    assert r.usage.prompt_tokens > 5
    assert "ships no chat template" in s.log_text() and "ChatML" in s.log_text()
