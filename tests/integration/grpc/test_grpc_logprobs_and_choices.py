"""Log probabilities and n > 1 over gRPC, against the HTTP API on the same server: a greedy request
gives the same tokens, the same logprobs and the same alternatives (to the last bit of the float),
for one choice and for two; a stream of n choices interleaves them, each chunk naming its choice;
bad values are refused with the HTTP API's messages."""

import json
import sys
from pathlib import Path

import grpc
import pytest
import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "gateway"))

from choice_compare import assert_same  # noqa: E402
from grpc_harness import MODEL_ID, GrpcServer  # noqa: E402
from test_grpc_api import CHAT, chat_request, failing, same_as_http, trailer  # noqa: E402

PROMPT = "Once upon a time"


# ---- gRPC side: chunks into per-choice replies ----

def grpc_choices(chunks):
    """{index: {"text", "finish", "tokens": [(bytes, logprob, [(bytes, logprob), ...]), ...]}}."""
    out = {}
    for c in chunks:
        choice = out.setdefault(c.index, {"text": "", "finish": None, "tokens": [], "ends": 0})
        choice["text"] += c.text
        for t in c.logprobs:
            choice["tokens"].append((t.bytes, t.logprob, [(a.bytes, a.logprob) for a in t.top_logprobs]))
            assert t.token == t.bytes.decode("utf-8", errors="replace") or b"\xef\xbf\xbd" in t.token.encode()
        if c.finish_reason:
            choice["finish"] = c.finish_reason
            choice["ends"] += 1
    for choice in out.values():
        assert choice.pop("ends") == 1, "each choice ends with exactly one chunk"
    return out


# ---- HTTP side: whole and streamed bodies into the same shape ----

def chat_tokens(logprobs):
    return [(bytes(t["bytes"]), t["logprob"], [(bytes(a["bytes"]), a["logprob"]) for a in t["top_logprobs"]])
            for t in logprobs["content"]]


def http_whole(gserver, path, body):
    r = requests.post(gserver.http.base_url + path, json={**body, "stream": False}, headers=gserver.http.headers(),
                      timeout=120)
    assert r.status_code == 200, r.text
    return r.json()


def http_chat_choices(gserver, body):
    out = {}
    for choice in http_whole(gserver, "/v1/chat/completions", body)["choices"]:
        out[choice["index"]] = {"text": choice["message"]["content"], "finish": choice["finish_reason"],
                                "tokens": chat_tokens(choice["logprobs"]) if choice["logprobs"] else []}
    return out


def http_streamed_chat_choices(gserver, body):
    r = requests.post(gserver.http.base_url + "/v1/chat/completions", json={**body, "stream": True},
                      headers=gserver.http.headers(), stream=True, timeout=120)
    assert r.status_code == 200, r.text
    r.encoding = "utf-8"
    out = {}
    for line in r.iter_lines(decode_unicode=True):
        if not line.startswith("data: ") or line == "data: [DONE]":
            continue
        for choice in json.loads(line[6:])["choices"]:
            mine = out.setdefault(choice["index"], {"text": "", "finish": None, "tokens": []})
            mine["text"] += choice["delta"].get("content") or ""
            if choice.get("logprobs"):
                mine["tokens"] += chat_tokens(choice["logprobs"])
            mine["finish"] = choice.get("finish_reason") or mine["finish"]
    return out


def chat(gserver, n=None, logprobs=None, top_logprobs=None, max_tokens=12):
    pb = gserver.pb
    request = chat_request(pb, max_tokens=max_tokens, temperature=0)
    body = {"model": MODEL_ID, "messages": CHAT, "max_tokens": max_tokens, "temperature": 0}
    for name, value in (("n", n), ("logprobs", logprobs), ("top_logprobs", top_logprobs)):
        if value is not None:
            setattr(request, name, value)
            body[name] = value
    return request, body


@pytest.mark.parametrize("n", [1, 2])
def test_chat_greedy_tokens_and_logprobs_equal_http(gserver, n):
    request, body = chat(gserver, n=n, logprobs=True, top_logprobs=3)
    over_grpc = grpc_choices(gserver.stub.Chat(request, metadata=gserver.auth()))
    assert sorted(over_grpc) == list(range(n))
    assert_same(over_grpc, http_chat_choices(gserver, body), n)
    assert_same(over_grpc, http_streamed_chat_choices(gserver, body), n)
    for choice in over_grpc.values():
        assert choice["tokens"], "logprobs were asked for"
        assert b"".join(t[0] for t in choice["tokens"]).decode() == choice["text"] or choice["finish"] == "stop"
        for token, logprob, top in choice["tokens"]:
            assert logprob <= 0 and len(top) == 3
            assert top[0][1] >= top[1][1] >= top[2][1], "likeliest first"
            assert token == top[0][0] and logprob == top[0][1], "greedy: the token is the likeliest"


def test_without_logprobs_chunks_carry_none(gserver):
    request, body = chat(gserver, n=2)
    chunks = list(gserver.stub.Chat(request, metadata=gserver.auth()))
    assert all(len(c.logprobs) == 0 for c in chunks)
    over_grpc = grpc_choices(chunks)
    assert over_grpc == http_chat_choices(gserver, body)
    # Greedy: both choices are the same reply.
    assert over_grpc[0]["text"] == over_grpc[1]["text"]


def test_choices_interleave_in_one_stream_each_with_its_end_and_usage(gserver):
    request, _ = chat(gserver, n=3, max_tokens=16)
    chunks = list(gserver.stub.Chat(request, metadata=gserver.auth()))
    ends = [c for c in chunks if c.finish_reason]
    assert sorted(c.index for c in ends) == [0, 1, 2]
    assert chunks[-1].finish_reason, "the stream ends with a choice's end"
    for end in ends:
        later = [c for c in chunks[chunks.index(end) + 1:] if c.index == end.index]
        assert not later, "nothing of a choice follows its end"
        assert end.usage.prompt_tokens > 0 and end.usage.completion_tokens > 0
    assert len({c.id for c in chunks}) == 1, "one request, one id"
    assert len({e.usage.prompt_tokens for e in ends}) == 1, "the prompt is the same for every choice"


def complete_choices_over_http(gserver, body):
    out = {}
    for choice in http_whole(gserver, "/v1/completions", body)["choices"]:
        lp = choice["logprobs"]
        out[choice["index"]] = {"text": choice["text"], "finish": choice["finish_reason"],
                                "tokens": lp["tokens"], "token_logprobs": lp["token_logprobs"],
                                "top_logprobs": lp["top_logprobs"], "text_offset": lp["text_offset"]}
    return out


def complete_choices_over_grpc(chunks):
    """The HTTP API's completion logprobs, rebuilt from the chunks' entries as its documentation says."""
    out = {}
    for index, choice in grpc_choices(chunks).items():
        tokens, offsets, offset, tops = [], [], 0, []
        for token, _, top in choice["tokens"]:
            tokens.append(token.decode("utf-8", errors="replace"))
            offsets.append(offset)
            offset += len(token)
            alternatives = {}
            for text, logprob in top:
                alternatives.setdefault(text.decode("utf-8", errors="replace"), logprob)
            tops.append(alternatives)
        out[index] = {"text": choice["text"], "finish": choice["finish"], "tokens": tokens,
                      "token_logprobs": [t[1] for t in choice["tokens"]], "top_logprobs": tops,
                      "text_offset": offsets}
    return out


@pytest.mark.parametrize("n", [1, 2])
def test_completion_greedy_logprobs_equal_http(gserver, n):
    pb = gserver.pb
    request = pb.CompleteRequest(model=MODEL_ID, prompt=PROMPT, sampling=pb.Sampling(max_tokens=10, temperature=0),
                                 logprobs=2, n=n)
    over_grpc = complete_choices_over_grpc(gserver.stub.Complete(request, metadata=gserver.auth()))
    over_http = complete_choices_over_http(gserver, {"model": MODEL_ID, "prompt": PROMPT, "max_tokens": 10,
                                                     "temperature": 0, "logprobs": 2, "n": n})
    assert_same(over_grpc, over_http, n)
    assert sorted(over_grpc) == list(range(n))


def test_completion_logprobs_zero_gives_the_tokens_without_alternatives(gserver):
    pb = gserver.pb
    request = pb.CompleteRequest(model=MODEL_ID, prompt=PROMPT, sampling=pb.Sampling(max_tokens=6, temperature=0),
                                 logprobs=0)
    chunks = list(gserver.stub.Complete(request, metadata=gserver.auth()))
    entries = [t for c in chunks for t in c.logprobs]
    assert entries and all(len(t.top_logprobs) == 0 for t in entries)
    assert sum(c.usage.completion_tokens for c in chunks if c.finish_reason) == len(entries)


@pytest.mark.parametrize("fields,http_fields,param", [
    ({"logprobs": True, "top_logprobs": 21}, {"logprobs": True, "top_logprobs": 21}, "top_logprobs"),
    ({"top_logprobs": 2}, {"top_logprobs": 2}, "top_logprobs"),
    ({"n": 17}, {"n": 17}, "n"),
    ({"n": 0}, {"n": 0}, "n"),
])
def test_bad_values_get_the_http_message(gserver, fields, http_fields, param):
    pb = gserver.pb
    request = chat_request(pb, max_tokens=4)
    for name, value in fields.items():
        setattr(request, name, value)
    error = failing(lambda: gserver.stub.Chat(request, metadata=gserver.auth()))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    same_as_http(gserver, error, "/v1/chat/completions",
                 {"model": MODEL_ID, "messages": CHAT, "max_tokens": 4, **http_fields}, 400)
    assert trailer(error, "tandem-error-param") == param


def test_completion_logprobs_out_of_range_gets_the_http_message(gserver):
    pb = gserver.pb
    request = pb.CompleteRequest(model=MODEL_ID, prompt=PROMPT, sampling=pb.Sampling(max_tokens=4), logprobs=21)
    error = failing(lambda: gserver.stub.Complete(request, metadata=gserver.auth()))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    same_as_http(gserver, error, "/v1/completions",
                 {"model": MODEL_ID, "prompt": PROMPT, "max_tokens": 4, "logprobs": 21}, 400)


@pytest.fixture(scope="module")
def one_at_a_time(tmp_path_factory, pb):
    s = GrpcServer(tmp_path_factory.mktemp("grpc-one"), pb, {"server": {"max_concurrent_requests": 1}})
    yield s
    s.stop()


def test_n_above_what_the_server_runs_at_once_gets_the_http_message(one_at_a_time):
    s = one_at_a_time
    request = chat_request(s.pb, max_tokens=4)
    request.n = 2
    error = failing(lambda: s.stub.Chat(request, metadata=s.auth()))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    same_as_http(s, error, "/v1/chat/completions", {"model": MODEL_ID, "messages": CHAT, "max_tokens": 4, "n": 2},
                 400)
    assert "max_concurrent_requests" in error.details()
