"""Tool calling and reasoning over the gRPC API: the same greedy request gives, over gRPC, the HTTP
API's tool calls (names and arguments; each call gets its own random id), content, reasoning and
finish_reason, and the same refusals. Tools reach the prompt both ways the server knows: a template
that writes them itself (Qwen2.5's, Hermes <tool_call> blocks) and the demo model's ChatML, which
ignores them (the server injects its tool prompt). tool_choice "required" and a named function are
enforced while sampling, so even the 135M demo model answers with a well-formed call."""

import json

import grpc
import pytest
import requests

from grpc_harness import MODEL_ID, ROOT, GrpcServer
from test_grpc_api import failing, same_as_http, trailer

QWEN_TEMPLATE = ROOT / "tests/data/chat/templates/Qwen-Qwen2.5-7B-Instruct.jinja"
THINKING_TEMPLATE = ROOT / "tests/data/chat_templates/chatml_thinking.jinja"

WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "Get the current weather in a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string", "maxLength": 40},
                                                    "days": {"type": "integer", "minimum": 1, "maximum": 3}},
                   "required": ["city"], "additionalProperties": False}}}
TIME = {"type": "function", "function": {
    "name": "get_time", "description": "Get the current time in a time zone",
    "parameters": {"type": "object", "properties": {"zone": {"type": "string", "enum": ["UTC", "CET", "PST"]}},
                   "required": ["zone"]}}}
QUESTION = [{"role": "user", "content": "What is the weather in Paris, and the time in UTC?"}]


@pytest.fixture(scope="module", params=["qwen_template", "injected_prompt"])
def tserver(request, tmp_path_factory, pb):
    model = {"chat_template_file": str(QWEN_TEMPLATE)} if request.param == "qwen_template" else {}
    s = GrpcServer(tmp_path_factory.mktemp("tools"), pb, {"model": model})
    yield s
    s.stop()


@pytest.fixture(scope="module")
def thinking(tmp_path_factory, pb):
    s = GrpcServer(tmp_path_factory.mktemp("thinking"), pb, {"model": {"chat_template_file": str(THINKING_TEMPLATE)}})
    yield s
    s.stop()


def to_proto_message(pb, m):
    calls = [pb.ToolCall(id=c["id"], name=c["function"]["name"], arguments=c["function"]["arguments"])
             for c in m.get("tool_calls") or []]
    extra = {k: m[k] for k in ("tool_call_id", "name") if k in m}
    return pb.Message(role=m["role"], content=m.get("content") or "", tool_calls=calls, **extra)


def to_proto_tool(pb, tool):
    f = tool["function"]
    return pb.Tool(name=f["name"], description=f["description"], parameters=json.dumps(f["parameters"]))


def grpc_request(pb, body):
    """The ChatRequest that stands for the HTTP body `body`."""
    r = pb.ChatRequest(model=MODEL_ID, messages=[to_proto_message(pb, m) for m in body["messages"]],
                       sampling=pb.Sampling(max_tokens=body["max_tokens"], temperature=0),
                       tools=[to_proto_tool(pb, t) for t in body.get("tools", [])])
    choice = body.get("tool_choice")
    if isinstance(choice, str):
        r.tool_choice.mode = choice
    elif choice:
        r.tool_choice.function = choice["function"]["name"]
    if "parallel_tool_calls" in body:
        r.parallel_tool_calls = body["parallel_tool_calls"]
    if "chat_template_kwargs" in body:
        r.chat_template_kwargs = json.dumps(body["chat_template_kwargs"])
    return r


def merged_calls(pieces):
    """[(index, id, name, arguments)] of a reply, from its streamed pieces."""
    calls = {}
    for index, call_id, name, arguments in pieces:
        if call_id:
            assert index not in calls, "a call's id and name come on its first piece only"
            calls[index] = [index, call_id, name, arguments]
        else:
            assert index in calls and not name, "a later piece carries only arguments"
            calls[index][3] += arguments
    return [tuple(calls[i]) for i in sorted(calls)]


def http_reply(s, body):
    """(content, reasoning, calls, finish_reason) of the HTTP API's stream for `body`."""
    r = requests.post(s.http.base_url + "/v1/chat/completions", json={"model": MODEL_ID, "temperature": 0, **body, "stream": True},
                      headers=s.http.headers(), stream=True, timeout=120)
    assert r.status_code == 200, r.text
    r.encoding = "utf-8"  # text/event-stream names no charset; requests would guess Latin-1
    content, reasoning, pieces, finish = "", "", [], None
    for line in r.iter_lines(decode_unicode=True):
        if not line.startswith("data: ") or line == "data: [DONE]":
            continue
        choice = json.loads(line[6:])["choices"][0]
        delta = choice.get("delta", {})
        content += delta.get("content") or ""
        reasoning += delta.get("reasoning_content") or ""
        for c in delta.get("tool_calls") or []:
            f = c.get("function", {})
            pieces.append((c["index"], c.get("id", ""), f.get("name", "") if "id" in c else "", f.get("arguments", "")))
        finish = choice.get("finish_reason") or finish
    return content, reasoning, merged_calls(pieces), finish


def grpc_reply(s, body):
    """The same, of the gRPC Chat stream for the ChatRequest that stands for `body`."""
    chunks = list(s.stub.Chat(grpc_request(s.pb, body), metadata=s.auth()))
    assert all(c.finish_reason == "" for c in chunks[:-1])
    pieces = [(t.index, t.id, t.name, t.arguments) for c in chunks for t in c.tool_calls]
    return ("".join(c.text for c in chunks), "".join(c.reasoning for c in chunks), merged_calls(pieces),
            chunks[-1].finish_reason)


def without_ids(reply):
    content, reasoning, calls, finish = reply
    for _, call_id, _, _ in calls:
        assert call_id.startswith("call_") and len(call_id) > 10, call_id
    return content, reasoning, [(i, name, arguments) for i, _, name, arguments in calls], finish


@pytest.mark.parametrize("extra", [
    {"tool_choice": "required"},
    {"tool_choice": {"type": "function", "function": {"name": "get_time"}}},
    {"tool_choice": "required", "parallel_tool_calls": False},
    {"tool_choice": "auto"},
    {"tool_choice": "none"},
], ids=["required", "named", "not_parallel", "auto", "none"])
def test_grpc_tool_calls_equal_the_http_apis(tserver, extra):
    body = {"messages": QUESTION, "tools": [WEATHER, TIME], "max_tokens": 64, **extra}
    over_grpc = without_ids(grpc_reply(tserver, body))
    assert over_grpc == without_ids(http_reply(tserver, body))
    content, _, calls, finish = over_grpc
    if extra["tool_choice"] == "none":
        assert not calls and finish in ("stop", "length")
    elif extra["tool_choice"] != "auto":
        assert calls and finish == "tool_calls"
        assert all(isinstance(json.loads(arguments), dict) for _, _, arguments in calls)
        if "function" in extra["tool_choice"]:
            assert [name for _, name, _ in calls] == ["get_time"]
        if extra.get("parallel_tool_calls") is False:
            assert len(calls) == 1


def test_a_call_and_its_result_give_the_http_answer(tserver):
    """The next turn: the assistant's call (Message.tool_calls) and the tool's result (tool_call_id)."""
    call = {"id": "call_0123456789abcdef01234567", "type": "function",
            "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}}
    messages = QUESTION + [{"role": "assistant", "content": "", "tool_calls": [call]},
                           {"role": "tool", "tool_call_id": call["id"], "content": "{\"weather\": \"sunny, 21 C\"}"}]
    body = {"messages": messages, "tools": [WEATHER], "tool_choice": "none", "max_tokens": 24}
    over_grpc = grpc_reply(tserver, body)
    assert over_grpc == http_reply(tserver, body)
    assert over_grpc[0], "the answer after the result should be text"
    # A message's name goes through too.
    named = {**body, "messages": [{**QUESTION[0], "name": "ann"}] + messages[1:]}
    assert grpc_reply(tserver, named) == http_reply(tserver, named)


@pytest.mark.parametrize("case", ["unknown_function", "bad_parameters", "required_without_tools", "bad_mode",
                                  "tool_calls_on_a_user_message"])
def test_bad_tool_requests_are_refused_as_over_http(tserver, case):
    pb = tserver.pb
    body = {"model": MODEL_ID, "messages": QUESTION, "tools": [WEATHER], "max_tokens": 8}
    request = grpc_request(pb, body)
    if case == "unknown_function":
        body["tool_choice"] = {"type": "function", "function": {"name": "nope"}}
        request.tool_choice.function = "nope"
    elif case == "bad_parameters":
        body["tools"] = [{"type": "function", "function": {**WEATHER["function"], "parameters": "not json"}}]
        request.tools[0].parameters = "not json"
    elif case == "required_without_tools":
        body = {**body, "tool_choice": "required"}
        del body["tools"]
        del request.tools[:]
        request.tool_choice.mode = "required"
    elif case == "bad_mode":
        body["tool_choice"] = "sometimes"
        request.tool_choice.mode = "sometimes"
    else:
        call = {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}
        body["messages"] = [{**QUESTION[0], "tool_calls": [call]}]
        request.messages[0].tool_calls.append(pb.ToolCall(id="call_1", name="get_weather", arguments="{}"))
    error = failing(lambda: tserver.stub.Chat(request, metadata=tserver.auth()))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    same_as_http(tserver, error, "/v1/chat/completions", body, 400)


def test_reasoning_equals_the_http_apis(thinking):
    body = {"messages": QUESTION, "max_tokens": 24}
    content, reasoning, calls, finish = grpc_reply(thinking, body)
    assert (content, reasoning, calls, finish) == http_reply(thinking, body)
    assert reasoning and "<think>" not in reasoning and "</think>" not in content


def test_chat_template_kwargs_reach_the_template(thinking):
    body = {"messages": QUESTION, "max_tokens": 12, "chat_template_kwargs": {"enable_thinking": False}}
    content, reasoning, _, _ = grpc_reply(thinking, body)
    assert (content, reasoning) == http_reply(thinking, body)[:2]
    assert reasoning == "" and content


@pytest.mark.parametrize("text", ["[1]", "not json", "{\"tools\": []}"])
def test_bad_chat_template_kwargs_are_refused_as_over_http(thinking, text):
    request = grpc_request(thinking.pb, {"messages": QUESTION, "max_tokens": 4})
    request.chat_template_kwargs = text
    error = failing(lambda: thinking.stub.Chat(request, metadata=thinking.auth()))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert trailer(error, "tandem-error-param") == "chat_template_kwargs"
    try:
        http_value = json.loads(text)
    except json.JSONDecodeError:
        http_value = text
    same_as_http(thinking, error, "/v1/chat/completions",
                 {"model": MODEL_ID, "messages": QUESTION, "max_tokens": 4, "chat_template_kwargs": http_value}, 400)
