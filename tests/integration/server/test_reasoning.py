"""Issue 17, thinking models, with the official `openai` client on the real server: a chat template
(model.chat_template_file) whose generation prompt opens <think>, as Qwen3's does, so the reply
starts inside the reasoning; reasoning_content comes apart from content, whole and streamed, and
chat_template_kwargs {"enable_thinking": false} reaches the template."""

import json

import openai
import pytest

from conftest import API_KEY, MODEL_ID, ROOT

TEMPLATE = ROOT / "tests/data/chat_templates/chatml_thinking.jinja"
MESSAGES = [{"role": "user", "content": "What is two plus two?"}]
NO_THINKING = {"chat_template_kwargs": {"enable_thinking": False}}


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    from conftest import Server
    server = Server(tmp_path_factory.mktemp("thinking"), {"model": {"chat_template_file": str(TEMPLATE)}})
    yield openai.OpenAI(base_url=server.base_url + "/v1", api_key=API_KEY, max_retries=0, timeout=120)
    server.stop()


def reasoning_of(message):
    return getattr(message, "reasoning_content", None)


def test_a_reply_that_starts_in_think_is_reasoning(client):
    r = client.chat.completions.create(model=MODEL_ID, messages=MESSAGES, max_tokens=24, temperature=0)
    message = r.choices[0].message
    reasoning = reasoning_of(message)
    assert reasoning, message
    for text in (reasoning, message.content or ""):
        assert "<think>" not in text and "</think>" not in text
    # The demo model never closes its thinking within 24 tokens: all of it is reasoning.
    assert r.choices[0].finish_reason == "length"
    assert (message.content or "") == ""


def test_streamed_reasoning_matches_the_whole_reply(client):
    whole = client.chat.completions.create(model=MODEL_ID, messages=MESSAGES, max_tokens=24, temperature=0)
    reasoning, content, roles = "", "", []
    for chunk in client.chat.completions.create(model=MODEL_ID, messages=MESSAGES, max_tokens=24, temperature=0,
                                                stream=True):
        delta = chunk.choices[0].delta
        roles += [delta.role] if delta.role else []
        reasoning += reasoning_of(delta) or ""
        content += delta.content or ""
    assert roles == ["assistant"]
    assert reasoning == reasoning_of(whole.choices[0].message)
    assert content == (whole.choices[0].message.content or "")


def test_enable_thinking_false_reaches_the_template(client):
    r = client.chat.completions.create(model=MODEL_ID, messages=MESSAGES, max_tokens=12, temperature=0,
                                       extra_body=NO_THINKING)
    message = r.choices[0].message
    assert not reasoning_of(message)
    assert message.content
    thinking = client.chat.completions.create(model=MODEL_ID, messages=MESSAGES, max_tokens=1, temperature=0)
    # The closed, empty block is in the prompt: more prompt tokens than the opened one.
    assert r.usage.prompt_tokens > thinking.usage.prompt_tokens


def test_a_forced_call_closes_the_thinking_first(client):
    tool = {"type": "function", "function": {"name": "add", "parameters": {
        "type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}}, "required": ["a", "b"]}}}
    r = client.chat.completions.create(model=MODEL_ID, messages=MESSAGES, tools=[tool], tool_choice="required",
                                       max_tokens=40, temperature=0)
    choice = r.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert not reasoning_of(choice.message)
    assert set(json.loads(choice.message.tool_calls[0].function.arguments)) == {"a", "b"}


@pytest.mark.parametrize("kwargs", ["enable_thinking", ["x"], {"messages": []}, {"add_generation_prompt": False}])
def test_bad_chat_template_kwargs_are_refused(client, kwargs):
    with pytest.raises(openai.BadRequestError) as e:
        client.chat.completions.create(model=MODEL_ID, messages=MESSAGES, max_tokens=1,
                                       extra_body={"chat_template_kwargs": kwargs})
    body = e.value.body
    error = body.get("error", body) if isinstance(body, dict) else {}
    assert error.get("param") == "chat_template_kwargs"
