"""The gRPC API carries logit_bias and response_format as the HTTP API takes them: the same greedy
text for the same request, and the same refusals with the same messages, naming the same field."""

import json

import grpc
import pytest

from grpc_harness import MODEL_ID
from test_grpc_api import CHAT, chat_request, failing, http_stream_text, same_as_http, trailer

SMOLLM2_VOCAB = 49152  # the test model's vocabulary size
BOOSTED = 1000  # any ordinary token: a +100 bias makes greedy decoding pick it every time


def grpc_text(gserver, request):
    chunks = list(gserver.stub.Chat(request, metadata=gserver.auth()))
    return "".join(c.text for c in chunks), chunks[-1].finish_reason


def test_logit_bias_changes_the_greedy_text_as_over_http(gserver):
    pb = gserver.pb
    plain, _ = grpc_text(gserver, chat_request(pb, max_tokens=12, temperature=0))
    biased, finish = grpc_text(gserver, chat_request(pb, max_tokens=12, temperature=0,
                                                     logit_bias={BOOSTED: 100.0}))
    http_biased, http_finish = http_stream_text(gserver, "/v1/chat/completions",
                                                {"model": MODEL_ID, "messages": CHAT, "max_tokens": 12,
                                                 "temperature": 0, "logit_bias": {str(BOOSTED): 100}})
    assert biased == http_biased and finish == http_finish
    assert biased != plain, "a +100 bias should take over the greedy choice"


def test_infinities_arrive_as_infinities(gserver):
    """-infinity bans a token (JSON has no infinity; the gRPC API takes it as the float it is)."""
    pb = gserver.pb

    def text(bias):
        return grpc_text(gserver, chat_request(pb, max_tokens=6, temperature=0, logit_bias=bias))[0]

    boosted = text({BOOSTED: 100.0})
    banned_then_next = text({BOOSTED: float("-inf"), BOOSTED + 1: 100.0})
    assert banned_then_next == text({BOOSTED + 1: 100.0}) and banned_then_next != boosted
    error = failing(lambda: gserver.stub.Chat(chat_request(pb, max_tokens=4, logit_bias={7: float("inf")}),
                                              metadata=gserver.auth()))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.details() == "logit_bias for token 7 must be in [-100, 100] or -inf (a ban), got inf"
    assert trailer(error, "tandem-error-param") == "logit_bias"


@pytest.mark.parametrize("bias", [{SMOLLM2_VOCAB + 5: 1.0}, {-3: 1.0}, {7: 250.0}])
def test_bad_logit_bias_is_invalid_argument_with_the_http_message(gserver, bias):
    pb = gserver.pb
    error = failing(lambda: gserver.stub.Chat(chat_request(pb, max_tokens=4, logit_bias=bias), metadata=gserver.auth()))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    http_bias = {str(k): v for k, v in bias.items()}
    same_as_http(gserver, error, "/v1/chat/completions",
                 {"model": MODEL_ID, "messages": CHAT, "max_tokens": 4, "logit_bias": http_bias}, 400)
    assert trailer(error, "tandem-error-param") == "logit_bias"


# Properties not in alphabetical order: the reply must write them in the schema's order.
SCHEMA_FORMAT = {"type": "json_schema", "json_schema": {"name": "person", "schema": {
    "type": "object", "properties": {"zname": {"type": "string"}, "age": {"type": "integer"}},
    "required": ["zname", "age"]}}}


@pytest.mark.parametrize("fmt", [{"type": "json_object"}, SCHEMA_FORMAT])
def test_response_format_gives_the_http_text(gserver, fmt):
    pb = gserver.pb
    request = chat_request(pb, max_tokens=40, temperature=0)
    request.response_format = json.dumps(fmt)
    text, finish = grpc_text(gserver, request)
    http_text, http_finish = http_stream_text(gserver, "/v1/chat/completions",
                                              {"model": MODEL_ID, "messages": CHAT, "max_tokens": 40,
                                               "temperature": 0, "response_format": fmt})
    assert text == http_text and finish == http_finish
    assert text.lstrip().startswith("{"), text
    if fmt is SCHEMA_FORMAT:
        assert text.index('"zname"') < (text.index('"age"') if '"age"' in text else len(text)), text


@pytest.mark.parametrize("text,http_value", [
    ("not json", "not json"),
    ('{"type": "yaml"}', {"type": "yaml"}),
    ('{"type": "json_schema"}', {"type": "json_schema"}),
])
def test_bad_response_format_is_invalid_argument_with_the_http_message(gserver, text, http_value):
    pb = gserver.pb
    request = chat_request(pb, max_tokens=4)
    request.response_format = text
    error = failing(lambda: gserver.stub.Chat(request, metadata=gserver.auth()))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    same_as_http(gserver, error, "/v1/chat/completions",
                 {"model": MODEL_ID, "messages": CHAT, "max_tokens": 4, "response_format": http_value}, 400)
    assert trailer(error, "tandem-error-param") == "response_format"


def test_empty_response_format_is_plain_text(gserver):
    pb = gserver.pb
    plain, _ = grpc_text(gserver, chat_request(pb, max_tokens=8, temperature=0))
    request = chat_request(pb, max_tokens=8, temperature=0)
    request.response_format = ""
    assert grpc_text(gserver, request)[0] == plain
