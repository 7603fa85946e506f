"""Issue 17, tool calling, with the official `openai` client on the real server and the demo model
(SmolLM2, whose ChatML template ignores tools: the server injects its Hermes-style tool prompt).
tool_choice "required" and a named function are enforced while sampling, so even this 135M model
answers with a well-formed call; the round trip then feeds the result back for the final answer."""

import json

import openai
import pytest

from conftest import API_KEY, MODEL_ID

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather in a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string", "maxLength": 40}},
            "required": ["city"],
            "additionalProperties": False,
        },
    },
}
TIME = {
    "type": "function",
    "function": {
        "name": "get_time",
        "description": "Get the current time in a time zone",
        "parameters": {
            "type": "object",
            "properties": {"zone": {"type": "string", "enum": ["UTC", "CET", "PST"]}},
            "required": ["zone"],
        },
    },
}
QUESTION = [{"role": "user", "content": "What is the weather in Paris?"}]


@pytest.fixture(scope="module")
def client(server):
    return openai.OpenAI(base_url=server.base_url + "/v1", api_key=API_KEY, max_retries=0, timeout=120)


def check_call(call, name):
    assert call.type == "function"
    assert call.id.startswith("call_") and len(call.id) > 10
    assert call.function.name == name
    arguments = json.loads(call.function.arguments)
    assert isinstance(arguments, dict)
    return arguments


def final_turn(call, arguments):
    """The conversation after the call: the assistant's call and the tool's result."""
    return QUESTION + [
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": call.id, "type": "function",
             "function": {"name": call.function.name, "arguments": call.function.arguments}}]},
        {"role": "tool", "tool_call_id": call.id, "content": json.dumps({"city": arguments.get("city"), "weather": "sunny, 21 C"})},
    ]


def test_required_round_trip(client):
    r = client.chat.completions.create(model=MODEL_ID, messages=QUESTION, tools=[WEATHER], tool_choice="required",
                                       max_tokens=48, temperature=0)
    choice = r.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert len(choice.message.tool_calls) == 1
    arguments = check_call(choice.message.tool_calls[0], "get_weather")
    assert isinstance(arguments["city"], str) and set(arguments) == {"city"}

    final = client.chat.completions.create(model=MODEL_ID, messages=final_turn(choice.message.tool_calls[0], arguments),
                                           tools=[WEATHER], tool_choice="none", max_tokens=24, temperature=0)
    answer = final.choices[0]
    assert answer.finish_reason in ("stop", "length")
    assert not answer.message.tool_calls
    assert answer.message.content
    # The call and its result reached the prompt.
    alone = client.chat.completions.create(model=MODEL_ID, messages=QUESTION, max_tokens=1)
    assert final.usage.prompt_tokens > alone.usage.prompt_tokens + 20


def test_required_round_trip_streamed(client):
    stream = client.chat.completions.create(model=MODEL_ID, messages=QUESTION, tools=[WEATHER], tool_choice="required",
                                            max_tokens=48, temperature=0, stream=True)
    fragments, finish, content = [], [], ""
    for chunk in stream:
        delta = chunk.choices[0].delta
        content += delta.content or ""
        fragments += delta.tool_calls or []
        if chunk.choices[0].finish_reason:
            finish.append(chunk.choices[0].finish_reason)
    assert finish == ["tool_calls"]
    assert content == ""
    # As OpenAI streams a call: index, id, type and name first, then the arguments in pieces.
    first = fragments[0]
    assert first.index == 0 and first.id.startswith("call_") and first.type == "function"
    assert first.function.name == "get_weather"
    assert all(f.index == 0 for f in fragments)
    assert all(f.id is None and f.function.name is None for f in fragments[1:])
    assert len(fragments) > 3  # the arguments went out in pieces as they were generated
    arguments = json.loads("".join(f.function.arguments or "" for f in fragments))
    assert set(arguments) == {"city"}

    # The same call whole and streamed (temperature 0).
    whole = client.chat.completions.create(model=MODEL_ID, messages=QUESTION, tools=[WEATHER], tool_choice="required",
                                           max_tokens=48, temperature=0)
    assert json.loads(whole.choices[0].message.tool_calls[0].function.arguments) == arguments

    class Call:  # the streamed call, in the shape final_turn reads
        id = first.id
        function = type("F", (), {"name": "get_weather", "arguments": json.dumps(arguments)})
    text = ""
    for chunk in client.chat.completions.create(model=MODEL_ID, messages=final_turn(Call, arguments), tools=[WEATHER],
                                                tool_choice="none", max_tokens=24, temperature=0, stream=True):
        assert not chunk.choices[0].delta.tool_calls
        text += chunk.choices[0].delta.content or ""
    assert text


def test_named_function(client):
    r = client.chat.completions.create(model=MODEL_ID, messages=[{"role": "user", "content": "What time is it in Berlin?"}],
                                       tools=[WEATHER, TIME],
                                       tool_choice={"type": "function", "function": {"name": "get_time"}},
                                       max_tokens=32, temperature=0)
    assert r.choices[0].finish_reason == "tool_calls"
    arguments = check_call(r.choices[0].message.tool_calls[0], "get_time")
    assert arguments["zone"] in ("UTC", "CET", "PST")


def test_required_with_two_tools_calls_one_of_them(client):
    r = client.chat.completions.create(model=MODEL_ID, messages=QUESTION, tools=[WEATHER, TIME], tool_choice="required",
                                       max_tokens=48, temperature=0)
    call = r.choices[0].message.tool_calls[0]
    assert call.function.name in ("get_weather", "get_time")
    check_call(call, call.function.name)


def test_tool_choice_none_answers_in_text(client):
    r = client.chat.completions.create(model=MODEL_ID, messages=QUESTION, tools=[WEATHER], tool_choice="none",
                                       max_tokens=16, temperature=0)
    assert not r.choices[0].message.tool_calls
    assert r.choices[0].finish_reason in ("stop", "length")
    assert r.choices[0].message.content


def test_auto_never_breaks_the_reply(client):
    # The demo model may or may not call; either way the reply is well-formed.
    r = client.chat.completions.create(model=MODEL_ID, messages=QUESTION, tools=[WEATHER], max_tokens=48, temperature=0)
    choice = r.choices[0]
    if choice.message.tool_calls:
        assert choice.finish_reason == "tool_calls"
        check_call(choice.message.tool_calls[0], choice.message.tool_calls[0].function.name)
    else:
        assert isinstance(choice.message.content, str)


def refused(client, param, **kwargs):
    kwargs.setdefault("messages", QUESTION)
    with pytest.raises(openai.BadRequestError) as e:
        client.chat.completions.create(model=MODEL_ID, max_tokens=4, **kwargs)
    body = e.value.body
    error = body.get("error", body) if isinstance(body, dict) else {}
    assert error.get("param") == param, error
    return error["message"]


def test_bad_tool_requests_name_the_field(client):
    assert "array" in refused(client, "tools", tools={"type": "function"})
    refused(client, "tools[0].type", tools=[{"type": "retrieval", "function": {"name": "f"}}])
    refused(client, "tools[0].function.name", tools=[{"type": "function", "function": {"name": "bad name!"}}])
    refused(client, "tools[1].function.name", tools=[WEATHER, WEATHER])
    refused(client, "tools[0].function.parameters",
            tools=[{"type": "function", "function": {"name": "f", "parameters": "{}"}}])
    assert "not in tools" in refused(client, "tool_choice", tools=[WEATHER],
                                     tool_choice={"type": "function", "function": {"name": "nope"}})
    refused(client, "tool_choice", tools=[WEATHER], tool_choice="sometimes")
    refused(client, "tool_choice", tool_choice="required")
    refused(client, "parallel_tool_calls", tools=[WEATHER], parallel_tool_calls="yes")
    refused(client, "messages[1].tool_calls[0].function",
            messages=QUESTION + [{"role": "assistant", "tool_calls": [{"id": "call_1", "type": "function"}]}])


def test_a_schema_the_grammar_cannot_enforce_is_refused(client):
    tool = {"type": "function", "function": {"name": "f", "parameters": {
        "type": "object", "properties": {"x": {"type": "string", "not": {"const": "a"}}}}}}
    assert "not" in refused(client, "tools[0].function.parameters", tools=[tool], tool_choice="required")


def test_forced_calls_with_several_choices(client):
    # n > 1: each choice is its own forced call with its own id.
    r = client.chat.completions.create(model=MODEL_ID, messages=QUESTION, tools=[WEATHER], tool_choice="required",
                                       max_tokens=48, temperature=0.8, seed=7, n=2)
    assert [c.index for c in r.choices] == [0, 1]
    ids = set()
    for choice in r.choices:
        assert choice.finish_reason == "tool_calls"
        arguments = check_call(choice.message.tool_calls[0], "get_weather")
        assert set(arguments) == {"city"}
        ids.add(choice.message.tool_calls[0].id)
    assert len(ids) == 2
