"""Structured output (response_format) with the official `openai` client on the real server and the
demo model: every reply for every schema must parse and validate with `jsonschema`, whole and
streamed, greedy and sampled; a schema the grammar cannot enforce is a 400 naming response_format.

The demo model (135M parameters) knows little about the requested content; the point is that the
grammar holds it to the schema whatever it would have written."""

import json

import jsonschema
import openai
import pytest

from conftest import API_KEY, MODEL_ID

SCHEMAS = {
    "person": {
        "type": "object",
        "properties": {
            "name": {"type": "string", "maxLength": 24},
            "age": {"type": "integer", "minimum": 0, "maximum": 120},
        },
        "required": ["name", "age"],
        "additionalProperties": False,
    },
    "enum": {
        "type": "object",
        "properties": {"color": {"enum": ["red", "green", "blue"]}, "shade": {"type": "string", "enum": ["light", "dark"]}},
        "required": ["color", "shade"],
        "additionalProperties": False,
    },
    "bounded_array": {
        "type": "object",
        "properties": {
            "tags": {"type": "array", "items": {"type": "string", "maxLength": 12}, "minItems": 2, "maxItems": 3}
        },
        "required": ["tags"],
        "additionalProperties": False,
    },
    "nested": {
        "type": "object",
        "properties": {
            "name": {"type": "string", "maxLength": 20},
            "address": {
                "type": "object",
                "properties": {
                    "street": {"type": "string", "maxLength": 30},
                    "city": {"type": "string", "maxLength": 20},
                    "zip": {"type": "string", "pattern": "^[0-9]{5}$"},
                },
                "required": ["street", "city", "zip"],
                "additionalProperties": False,
            },
        },
        "required": ["name", "address"],
        "additionalProperties": False,
    },
    "any_of": {
        "type": "object",
        "properties": {
            "value": {"anyOf": [{"type": "integer"}, {"type": "string", "maxLength": 10}, {"type": "null"}]},
            "flag": {"type": "boolean"},
        },
        "required": ["value", "flag"],
    },
    "formats": {
        "type": "object",
        "properties": {
            "day": {"type": "string", "format": "date"},
            "at": {"type": "string", "format": "date-time"},
            "id": {"type": "string", "format": "uuid"},
            "contact": {"type": "string", "format": "email"},
            "opens": {"type": "string", "format": "time"},
        },
        "required": ["day", "at", "id", "contact", "opens"],
        "additionalProperties": False,
    },
    "numbers": {
        "type": "object",
        "properties": {
            "price": {"type": "number", "minimum": 0},
            "delta": {"type": "number"},
            "count": {"type": "integer", "exclusiveMinimum": 0, "maximum": 50},
            "ratio": {"type": "number", "minimum": 0, "maximum": 1},
        },
        "required": ["price", "delta", "count", "ratio"],
    },
    # Bounds of every kind: fractional, negative, exclusive, and one ("middle") no integer meets.
    "scores": {
        "type": "object",
        "properties": {
            "confidence": {"type": "number", "minimum": 0, "maximum": 1},
            "probability": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1},
            "temperature": {"type": "number", "minimum": -2.75, "exclusiveMaximum": 0.5},
            "offset": {"type": "number", "minimum": -10.5, "maximum": -3.25},
            "middle": {"type": "number", "minimum": 0.25, "maximum": 0.75},
        },
        "required": ["confidence", "probability", "temperature", "offset", "middle"],
        "additionalProperties": False,
    },
    "refs": {
        "$defs": {
            "item": {
                "type": "object",
                "properties": {"sku": {"type": "string", "pattern": "^[A-Z]{3}-\\d{2}$"}, "qty": {"type": "integer", "minimum": 1, "maximum": 9}},
                "required": ["sku", "qty"],
                "additionalProperties": False,
            }
        },
        "type": "object",
        "properties": {"items": {"type": "array", "items": {"$ref": "#/$defs/item"}, "minItems": 1, "maxItems": 2}},
        "required": ["items"],
    },
    "top_level_array": {"type": "array", "items": {"type": "integer", "minimum": -5, "maximum": 5}, "maxItems": 4},
    "nullable_and_const": {
        "type": "object",
        "properties": {"kind": {"const": "report"}, "note": {"type": ["string", "null"], "maxLength": 16}},
        "required": ["kind", "note"],
    },
}

PROMPT = "Describe a customer of a small shop as JSON."


@pytest.fixture(scope="module")
def client(server):
    return openai.OpenAI(base_url=server.base_url + "/v1", api_key=API_KEY, max_retries=0, timeout=120)


def response_format(name):
    return {"type": "json_schema", "json_schema": {"name": name, "schema": SCHEMAS[name], "strict": True}}


def validate(text, schema):
    value = json.loads(text)
    # The 2020-12 checker: FormatChecker() mixes in draft 3's "time" (no offset allowed). With
    # rfc3339-validator installed (scripts/requirements.txt) date-time and time are checked too.
    jsonschema.validate(value, schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    return value


@pytest.mark.parametrize("name", sorted(SCHEMAS))
@pytest.mark.parametrize("temperature", [0, 0.9])
def test_every_reply_validates(client, name, temperature):
    r = client.chat.completions.create(
        model=MODEL_ID,
        messages=[{"role": "user", "content": PROMPT}],
        response_format=response_format(name),
        max_tokens=300,
        temperature=temperature,
        seed=11,
    )
    choice = r.choices[0]
    assert choice.finish_reason == "stop", choice.message.content
    validate(choice.message.content, SCHEMAS[name])


@pytest.mark.parametrize("temperature", [0, 0.9])
def test_a_number_between_0_and_1_validates(client, temperature):
    schema = {"type": "number", "minimum": 0, "maximum": 1}
    r = client.chat.completions.create(
        model=MODEL_ID,
        messages=[{"role": "user", "content": "How confident are you that it rains tomorrow, from 0 to 1?"}],
        response_format={"type": "json_schema", "json_schema": {"name": "confidence", "schema": schema, "strict": True}},
        max_tokens=40,
        temperature=temperature,
        seed=5,
    )
    choice = r.choices[0]
    assert choice.finish_reason == "stop", choice.message.content
    value = validate(choice.message.content, schema)
    assert isinstance(value, (int, float)) and not isinstance(value, bool)


@pytest.mark.parametrize("name", ["nested", "formats", "refs"])
def test_streamed_reply_validates_and_equals_the_whole_one(client, name):
    kwargs = dict(
        model=MODEL_ID,
        messages=[{"role": "user", "content": PROMPT}],
        response_format=response_format(name),
        max_tokens=300,
        temperature=0,
    )
    whole = client.chat.completions.create(**kwargs).choices[0].message.content
    pieces, finish = [], None
    for chunk in client.chat.completions.create(stream=True, **kwargs):
        if chunk.choices:
            pieces.append(chunk.choices[0].delta.content or "")
            finish = chunk.choices[0].finish_reason or finish
    assert finish == "stop"
    assert "".join(pieces) == whole
    validate(whole, SCHEMAS[name])


def test_json_object_gives_an_object(client):
    for seed in (1, 2, 3):
        r = client.chat.completions.create(
            model=MODEL_ID,
            messages=[{"role": "user", "content": "Give me a JSON object about a cat."}],
            response_format={"type": "json_object"},
            max_tokens=300,
            temperature=0.7,
            seed=seed,
        )
        choice = r.choices[0]
        if choice.finish_reason == "length":
            continue  # a free-form object may run past max_tokens; what was written is still a prefix
        assert isinstance(json.loads(choice.message.content), dict)


def test_text_format_is_unconstrained(client):
    r = client.chat.completions.create(
        model=MODEL_ID, messages=[{"role": "user", "content": "Say hi."}], response_format={"type": "text"}, max_tokens=8
    )
    assert r.choices[0].message.content is not None


@pytest.mark.parametrize(
    "fmt, words",
    [
        ({"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "number", "multipleOf": 3}}}, "multipleOf"),
        ({"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "string", "format": "hostname"}}}, "hostname"),
        ({"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "string", "pattern": "(?=a)"}}}, "lookaround"),
        ({"type": "json_schema", "json_schema": {"name": "x", "schema": {"$ref": "http://example.com/s"}}}, "$ref"),
        ({"type": "json_schema", "json_schema": {"name": "x"}}, "schema is required"),
        ({"type": "yaml"}, "yaml"),
        ("json", "an object"),
    ],
)
def test_unsupported_schema_is_a_400_naming_response_format(client, fmt, words):
    with pytest.raises(openai.BadRequestError) as e:
        client.chat.completions.create(
            model=MODEL_ID, messages=[{"role": "user", "content": "x"}], max_tokens=4, extra_body={"response_format": fmt}
        )
    assert e.value.body["param"] == "response_format"
    assert words in e.value.body["message"]
