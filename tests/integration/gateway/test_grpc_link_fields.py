"""A request means the same through a gRPC link as through an HTTP link: every field (logit_bias,
response_format, text parts, tool calling, reasoning, chat_template_kwargs, a message's name,
logprobs, top_logprobs and n) gives the same greedy reply, streamed or whole: the same JSON, the same
logprobs objects and the same choices, ids, timestamps and timings aside."""

import json

import pytest
import requests

from choice_compare import assert_same
from gateway_harness import NO_EOS, ROOT, STORIES_ID, wait_until

MESSAGES = [{"role": "user", "content": "Hi"}]


@pytest.fixture
def gateways(make_backend, make_gateway):
    """(through a gRPC link, through an HTTP link), each to its own backend on the same model."""
    grpc_backend = make_backend("grpc-only", protocol="grpc")
    http_backend = make_backend("http")
    over_grpc = make_gateway([("primary", grpc_backend.url)])
    over_http = make_gateway([("primary", http_backend.url)])
    for gw in (over_grpc, over_http):
        wait_until(lambda gw=gw: gw.link("primary")["state"] == "healthy", 30, what="the link healthy")
    return over_grpc, over_http


def post(gw, path, body, stream=False):
    r = requests.post(gw.url + path, headers=gw.headers(), json={"model": STORIES_ID, **body, "stream": stream},
                      timeout=60, stream=stream)
    return r


def text_of(gw, path, body, stream=False):
    """(text, finish_reason) of a 200 answer, streamed or whole."""
    r = post(gw, path, body, stream)
    assert r.status_code == 200, r.text
    if not stream:
        choice = r.json()["choices"][0]
        return (choice["message"]["content"] if "message" in choice else choice["text"]), choice["finish_reason"]
    text, finish = "", None
    for line in r.iter_lines(decode_unicode=True):
        if not line.startswith("data: ") or line == "data: [DONE]":
            continue
        event = json.loads(line[6:])
        assert "error" not in event, event
        for choice in event["choices"]:
            text += (choice.get("delta") or {}).get("content") or choice.get("text") or ""
            finish = choice.get("finish_reason") or finish
    return text, finish


@pytest.mark.parametrize("stream", [False, True])
def test_logit_bias_changes_the_greedy_text_as_over_http(gateways, stream):
    over_grpc, over_http = gateways
    body = {"prompt": "Once upon a time", "max_tokens": 24, "temperature": 0}
    plain = text_of(over_grpc, "/v1/completions", body, stream)
    boosted = {**body, "logit_bias": {"100": 100}}
    assert text_of(over_grpc, "/v1/completions", boosted, stream) == text_of(over_http, "/v1/completions", boosted,
                                                                               stream)
    assert text_of(over_grpc, "/v1/completions", boosted, stream) != plain
    # Without end-of-text the generation runs to max_tokens, as over HTTP.
    long = {**body, "max_tokens": 300, "logit_bias": NO_EOS}
    text, finish = text_of(over_grpc, "/v1/completions", long, stream)
    assert finish == "length"
    assert (text, finish) == text_of(over_http, "/v1/completions", long, stream)


def test_bad_logit_bias_gets_the_http_links_400(gateways):
    over_grpc, over_http = gateways
    body = {"prompt": "Once", "max_tokens": 4, "logit_bias": {"100000": 1}}
    a, b = post(over_grpc, "/v1/completions", body), post(over_http, "/v1/completions", body)
    assert a.status_code == b.status_code == 400
    assert a.json()["error"]["message"] == b.json()["error"]["message"]
    assert a.json()["error"]["param"] == "logit_bias"


def test_response_format_and_text_parts_give_the_http_text(gateways):
    over_grpc, over_http = gateways
    for body in [{"messages": MESSAGES, "max_tokens": 24, "temperature": 0, "response_format": {"type": "json_object"}},
                 {"messages": [{"role": "user", "content": [{"type": "text", "text": "Once"},
                                                            {"type": "text", "text": "upon"}]}],
                  "max_tokens": 12, "temperature": 0}]:
        assert text_of(over_grpc, "/v1/chat/completions", body) == text_of(over_http, "/v1/chat/completions", body)
    text, _ = text_of(over_grpc, "/v1/chat/completions",
                      {"messages": MESSAGES, "max_tokens": 24, "temperature": 0,
                       "response_format": {"type": "json_object"}})
    assert text.lstrip().startswith("{"), text


def comparable(body):
    """A whole body without what differs between any two requests: the id, the time, the timings."""
    return {k: v for k, v in body.items() if k not in ("id", "created", "timings")}


def whole(gw, path, body):
    r = post(gw, path, body)
    assert r.status_code == 200, r.text
    return r.json()


CHAT_LOGPROBS = {"messages": MESSAGES, "max_tokens": 10, "temperature": 0, "logprobs": True, "top_logprobs": 3}
COMPLETION_LOGPROBS = {"prompt": "Once upon a time", "max_tokens": 10, "temperature": 0, "logprobs": 2}


@pytest.mark.parametrize("path,body", [("/v1/chat/completions", CHAT_LOGPROBS),
                                       ("/v1/completions", COMPLETION_LOGPROBS)])
@pytest.mark.parametrize("n", [1, 2])
def test_whole_logprobs_and_choices_are_the_http_links(gateways, path, body, n):
    over_grpc, over_http = gateways
    a = whole(over_grpc, path, {**body, "n": n})
    b = whole(over_http, path, {**body, "n": n})
    assert_same(comparable(a), comparable(b), n)
    assert [c["index"] for c in a["choices"]] == list(range(n))
    assert all(c["logprobs"] for c in a["choices"])
    assert a["timings"]["predicted_n"] == b["timings"]["predicted_n"]


def streamed(gw, path, body):
    """Each choice's events put together: {index: {"text", "finish", "logprobs", "first"}}, and the
    usage chunk. Checks the events' shape on the way: one choice each, chat's role chunk first."""
    r = post(gw, path, {**body, "stream_options": {"include_usage": True}}, stream=True)
    assert r.status_code == 200, r.text
    r.encoding = "utf-8"
    choices, usage, done = {}, None, False
    for line in r.iter_lines(decode_unicode=True):
        if not line.startswith("data: "):
            continue
        assert not done, "nothing follows [DONE]"
        if line == "data: [DONE]":
            done = True
            continue
        event = json.loads(line[6:])
        assert "error" not in event, event
        if not event["choices"]:
            usage = event["usage"]
            continue
        assert len(event["choices"]) == 1
        choice = event["choices"][0]
        mine = choices.setdefault(choice["index"], {"text": "", "finish": None, "logprobs": [], "first": choice})
        assert mine["finish"] is None, "nothing of a choice follows its end"
        delta = choice.get("delta")
        mine["text"] += (delta.get("content") or "") if delta is not None else choice["text"]
        if choice.get("logprobs"):
            lp = choice["logprobs"]
            mine["logprobs"] += lp["content"] if "content" in lp else list(zip(
                lp["tokens"], lp["token_logprobs"], lp["top_logprobs"], lp["text_offset"]))
        mine["finish"] = choice.get("finish_reason")
        if mine["finish"]:
            assert "timings" in event, "a choice's end carries its timings"
    assert done
    for mine in choices.values():
        first = mine.pop("first")
        if "delta" in first:
            assert first["delta"] == {"role": "assistant", "content": ""}, "chat announces each choice's role first"
    return choices, usage


@pytest.mark.parametrize("path,body", [("/v1/chat/completions", CHAT_LOGPROBS),
                                       ("/v1/completions", COMPLETION_LOGPROBS)])
def test_streamed_logprobs_and_choices_are_the_http_links(gateways, path, body):
    over_grpc, over_http = gateways
    a, a_usage = streamed(over_grpc, path, {**body, "n": 2})
    b, b_usage = streamed(over_http, path, {**body, "n": 2})
    assert sorted(a) == [0, 1]
    assert_same(a, b, 2)
    assert a_usage == b_usage
    assert all(choice["logprobs"] for choice in a.values())


@pytest.mark.parametrize("path,extra", [
    ("/v1/chat/completions", {"logprobs": True, "top_logprobs": 21}),
    ("/v1/chat/completions", {"top_logprobs": 2}),
    ("/v1/completions", {"logprobs": 21}),
    ("/v1/chat/completions", {"n": 17}),
])
def test_bad_logprobs_and_n_get_the_http_links_400(gateways, path, extra):
    over_grpc, over_http = gateways
    body = {"max_tokens": 4, **({"messages": MESSAGES} if "chat" in path else {"prompt": "Once"}), **extra}
    a, b = post(over_grpc, path, body), post(over_http, path, body)
    assert a.status_code == b.status_code == 400, (a.text, b.text)
    assert a.json()["error"] == b.json()["error"]


def test_fields_that_change_nothing_pass(gateways):
    over_grpc, _ = gateways
    r = post(over_grpc, "/v1/chat/completions",
             {"messages": MESSAGES, "max_tokens": 4, "logprobs": False, "n": 1, "user": "u", "metadata": {"a": "b"},
              "max_completion_tokens": 3})
    assert r.status_code == 200, r.text
    assert r.json()["usage"]["completion_tokens"] <= 3


# Tool calling and reasoning, on the demo model (a 512-token vocabulary is too small for a call's
# text) with a template whose generation prompt opens <think>, as Qwen3's does.
SMOLLM2 = ROOT / "models/SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM2_ID = "SmolLM2-135M-Instruct.Q4_1"
THINKING = ROOT / "tests/data/chat_templates/chatml_thinking.jinja"
WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "Get the current weather in a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string", "maxLength": 40}},
                   "required": ["city"], "additionalProperties": False}}}
TIME = {"type": "function", "function": {
    "name": "get_time", "parameters": {"type": "object", "properties": {"zone": {"type": "string"}}}}}
QUESTION = [{"role": "user", "content": "What is the weather in Paris?"}]


@pytest.fixture
def thinking_gateways(make_backend, make_gateway):
    """(through a gRPC link, through an HTTP link) to backends on the demo model and the thinking template."""
    extra = {"model": {"chat_template_file": str(THINKING)}}
    grpc_backend = make_backend("grpc-only", protocol="grpc", model=SMOLLM2, context=1024, extra=extra)
    http_backend = make_backend("http", model=SMOLLM2, context=1024, extra=extra)
    over_grpc = make_gateway([("primary", grpc_backend.url)])
    over_http = make_gateway([("primary", http_backend.url)])
    for gw in (over_grpc, over_http):
        wait_until(lambda gw=gw: gw.link("primary")["state"] == "healthy", 30, what="the link healthy")
    return over_grpc, over_http


def reply_of(gw, body, stream):
    """(content, reasoning_content, [(name, arguments)], finish_reason) of a chat reply, and its call ids."""
    r = requests.post(gw.url + "/v1/chat/completions", headers=gw.headers(), timeout=120, stream=stream,
                      json={"model": SMOLLM2_ID, "temperature": 0, **body, "stream": stream})
    assert r.status_code == 200, r.text
    if not stream:
        choice = r.json()["choices"][0]
        message = choice["message"]
        calls = message.get("tool_calls") or []
        if calls:
            assert message["content"] is None or message["content"], "content is null beside calls, as OpenAI sends"
        return ((message["content"] or "", message.get("reasoning_content") or "",
                 [(c["function"]["name"], c["function"]["arguments"]) for c in calls], choice["finish_reason"]),
                [c["id"] for c in calls])
    r.encoding = "utf-8"  # text/event-stream names no charset; requests would guess Latin-1
    content, reasoning, calls, ids, finish = "", "", {}, [], None
    for line in r.iter_lines(decode_unicode=True):
        if not line.startswith("data: ") or line == "data: [DONE]":
            continue
        event = json.loads(line[6:])
        assert "error" not in event, event
        choice = event["choices"][0]
        delta = choice["delta"]
        content += delta.get("content") or ""
        reasoning += delta.get("reasoning_content") or ""
        for c in delta.get("tool_calls") or []:
            if "id" in c:  # a call's first piece: id, type and name, as OpenAI streams them
                assert c["type"] == "function" and c["index"] not in calls
                calls[c["index"]] = [c["function"]["name"], c["function"].get("arguments", "")]
                ids.append(c["id"])
            else:
                calls[c["index"]][1] += c["function"]["arguments"]
        finish = choice.get("finish_reason") or finish
    return (content, reasoning, [tuple(calls[i]) for i in sorted(calls)], finish), ids


@pytest.mark.parametrize("stream", [False, True])
def test_tool_calls_and_reasoning_are_the_http_links(thinking_gateways, stream):
    over_grpc, over_http = thinking_gateways
    call_id = "call_0123456789abcdef01234567"
    bodies = [
        # A forced call: the thinking is closed first, then one call of get_weather.
        {"messages": QUESTION, "tools": [WEATHER, TIME], "tool_choice": "required", "max_tokens": 64},
        {"messages": QUESTION, "tools": [WEATHER, TIME], "max_tokens": 64, "parallel_tool_calls": False,
         "tool_choice": {"type": "function", "function": {"name": "get_time"}}},
        # Reasoning only (the demo model does not close its thinking within 24 tokens).
        {"messages": QUESTION, "max_tokens": 24},
        {"messages": QUESTION, "max_tokens": 12, "chat_template_kwargs": {"enable_thinking": False}},
        # The next turn: the call, its result, and a message's name.
        {"messages": [{**QUESTION[0], "name": "ann"},
                      {"role": "assistant", "content": None, "tool_calls": [
                          {"id": call_id, "type": "function",
                           "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}}]},
                      {"role": "tool", "tool_call_id": call_id, "content": "sunny, 21 C"}],
         "tools": [WEATHER], "tool_choice": "none", "max_tokens": 16,
         "chat_template_kwargs": {"enable_thinking": False}},
    ]
    replies = []
    for body in bodies:
        (a, ids), (b, _) = reply_of(over_grpc, body, stream), reply_of(over_http, body, stream)
        assert a == b, body
        assert all(i.startswith("call_") for i in ids)
        replies.append(a)
    forced, named, thinking, not_thinking, answer = replies
    assert forced[3] == named[3] == "tool_calls"
    assert [name for name, _ in forced[2]] == ["get_weather"] and json.loads(forced[2][0][1])["city"]
    assert [name for name, _ in named[2]] == ["get_time"]
    assert thinking[1] and not thinking[2]
    assert not_thinking[1] == "" and not_thinking[0]
    assert answer[0] and not answer[2]


def test_bad_tool_fields_get_the_http_links_400(thinking_gateways):
    over_grpc, over_http = thinking_gateways
    for extra in [{"tools": [WEATHER], "tool_choice": {"type": "function", "function": {"name": "nope"}}},
                  {"tool_choice": "required"}, {"chat_template_kwargs": {"tools": []}}]:
        body = {"model": SMOLLM2_ID, "messages": QUESTION, "max_tokens": 4, **extra}
        a = requests.post(over_grpc.url + "/v1/chat/completions", headers=over_grpc.headers(), json=body, timeout=30)
        b = requests.post(over_http.url + "/v1/chat/completions", headers=over_http.headers(), json=body, timeout=30)
        assert a.status_code == b.status_code == 400, (a.text, b.text)
        assert a.json()["error"] == b.json()["error"]
