#!/usr/bin/env python3
"""Renders the chat-template test data with Python's jinja2, configured the way transformers'
apply_chat_template configures it, so the C++ interpreter can be compared byte for byte.

Writes two files under tests/data/chat/:
  template_cases.json  real model templates (templates/*.jinja) x message sets (messages/*.json)
  feature_cases.json   small templates that exercise one interpreter feature each

The environment mirrors transformers.utils.chat_template_utils._compile_jinja_template
(transformers 4.4x/5.x): ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
with the loopcontrols extension and the `{% generation %}` tag, a `tojson` filter that is
json.dumps(ensure_ascii=False, ...) (no HTML escaping, insertion key order), raise_exception,
and strftime_now, here pinned to kFixedNow so the expectations are reproducible. Like
render_jinja_template, every render passes tools (None when absent) and documents=None.

Run from the repository root:  .venv/bin/python scripts/make_chat_template_expectations.py
"""

import datetime
import json
import os
import sys

import jinja2
import jinja2.ext
import jinja2.nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "tests", "data", "chat")
FIXED_NOW = datetime.datetime(2025, 3, 14, 9, 30, 5)


class GenerationTag(jinja2.ext.Extension):
    """`{% generation %}...{% endgeneration %}`: transformers marks assistant text with it; for
    rendering it is transparent."""

    tags = {"generation"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(["name:endgeneration"], drop_needle=True)
        return jinja2.nodes.CallBlock(self.call_method("_render"), [], [], body).set_lineno(lineno)

    def _render(self, caller):
        return caller()


def make_environment():
    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators,
                          sort_keys=sort_keys)

    def strftime_now(fmt):
        return FIXED_NOW.strftime(fmt)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                        extensions=[GenerationTag, jinja2.ext.loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


ENV = make_environment()


def render(source, context):
    """Returns {"expected": text} or {"error": message, "error_kind": ...}."""
    try:
        template = ENV.from_string(source)
    except jinja2.exceptions.TemplateSyntaxError as e:
        return {"error": str(e), "error_kind": "syntax"}
    except SyntaxError as e:  # jinja2 compiles to Python; e.g. a `break` outside a loop
        return {"error": f"SyntaxError: {e.msg}", "error_kind": "syntax"}
    kwargs = dict(context)
    kwargs.setdefault("tools", None)
    kwargs.setdefault("documents", None)
    kwargs.setdefault("add_generation_prompt", False)
    try:
        return {"expected": template.render(**kwargs)}
    except jinja2.exceptions.UndefinedError as e:
        return {"error": str(e), "error_kind": "undefined"}
    except jinja2.exceptions.SecurityError as e:
        return {"error": str(e), "error_kind": "security"}
    except jinja2.exceptions.TemplateError as e:
        # What raise_exception throws; the C++ side must carry exactly this message.
        return {"error": str(e), "error_kind": "raised"}
    except Exception as e:  # TypeError, ValueError, ... from Python operators on bad types
        return {"error": f"{type(e).__name__}: {e}", "error_kind": "runtime"}


# name -> (template file, bos_token, eos_token)
TEMPLATES = {
    "qwen2.5": ("Qwen-Qwen2.5-7B-Instruct.jinja", "", "<|im_end|>"),
    "qwen3": ("Qwen-Qwen3-0.6B.jinja", "", "<|im_end|>"),
    "llama3.1": ("meta-llama-Llama-3.3-70B-Instruct.jinja", "<|begin_of_text|>", "<|eot_id|>"),
    "llama3.2": ("meta-llama-Llama-3.2-3B-Instruct.jinja", "<|begin_of_text|>", "<|eot_id|>"),
    "mistral-nemo": ("mistralai-Mistral-Nemo-Instruct-2407.jinja", "<s>", "</s>"),
    "gemma2": ("google-gemma-2-2b-it.jinja", "<bos>", "<eos>"),
    "gemma3": ("google-gemma-3-it.jinja", "<bos>", "<eos>"),
    "phi3.5": ("microsoft-Phi-3.5-mini-instruct.jinja", "<s>", "<|endoftext|>"),
    "deepseek-r1": ("deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja",
                    "<\uff5cbegin\u2581of\u2581sentence\uff5c>", "<\uff5cend\u2581of\u2581sentence\uff5c>"),
    "smollm2": ("HuggingFaceTB-SmolLM2-135M-Instruct.jinja", "<|im_start|>", "<|im_end|>"),
    # Beyond the families above: templates that lean on macros and schema walking.
    "hermes3-tool-use": ("NousResearch-Hermes-3-Llama-3.1-8B-tool_use.jinja", "<|begin_of_text|>", "<|im_end|>"),
    "gpt-oss": ("openai-gpt-oss-120b.jinja", "<|startoftext|>", "<|return|>"),
}

# Extra template variables worth a case of their own: (template, message set, vars).
EXTRA_CASES = [
    ("qwen3", "thinking", {"enable_thinking": False}),
    ("qwen3", "thinking", {"enable_thinking": True}),
    ("qwen3", "user_only", {"enable_thinking": False}),
    ("qwen3", "tools", {"enable_thinking": False}),
    ("llama3.1", "tools", {"tools_in_user_message": False}),
    ("llama3.1", "tools", {"date_string": "01 Jan 2025"}),
    ("llama3.1", "tool_call", {"builtin_tools": ["get_weather", "code_interpreter"]}),
    ("llama3.2", "tools", {"tools_in_user_message": False}),
    ("gpt-oss", "tools_complex", {"reasoning_effort": "high", "builtin_tools": ["browser", "python"]}),
    ("gpt-oss", "user_only", {"model_identity": "You are Tandem.", "builtin_tools": ["python"]}),
]


def load_messages(name):
    with open(os.path.join(DATA, "messages", name + ".json"), encoding="utf-8") as f:
        data = json.load(f)
    return data if isinstance(data, list) else data


def template_cases():
    message_sets = sorted(f[:-5] for f in os.listdir(os.path.join(DATA, "messages")) if f.endswith(".json"))
    cases = []

    def add(template_name, set_name, generation_prompt, extra):
        file, bos, eos = TEMPLATES[template_name]
        with open(os.path.join(DATA, "templates", file), encoding="utf-8") as f:
            source = f.read()
        data = load_messages(set_name)
        context = {"bos_token": bos, "eos_token": eos, "add_generation_prompt": generation_prompt}
        if isinstance(data, list):
            context["messages"] = data
        else:
            context.update(data)
        context.update(extra)
        suffix = "".join(f"+{k}={json.dumps(v)}" for k, v in extra.items())
        case = {
            "name": f"{template_name}/{set_name}{'' if generation_prompt else '/no_gen'}{suffix}",
            "template": file,
            "messages": set_name,
            "bos_token": bos,
            "eos_token": eos,
            "add_generation_prompt": generation_prompt,
            "vars": extra,
        }
        case.update(render(source, context))
        cases.append(case)

    for template_name in TEMPLATES:
        for set_name in message_sets:
            for generation_prompt in (True, False):
                add(template_name, set_name, generation_prompt, {})
    for template_name, set_name, extra in EXTRA_CASES:
        add(template_name, set_name, True, extra)
    names = [c["name"] for c in cases]
    assert len(names) == len(set(names)), "case names must be unique"
    return cases


# Small templates, one feature each. Context defaults: see FEATURE_CONTEXT.
FEATURE_CONTEXT = {
    "xs": [3, 1, 2],
    "words": ["b", "A", "c", "a"],
    "s": "  Hello World  ",
    "d": {"b": 1, "a": 2, "c": None},
    "n": None,
    "f": 2.5,
    "i": 7,
    "t": True,
    "msgs": [
        {"role": "system", "content": "sys"},
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "yo", "tool_calls": [{"name": "x"}]},
        {"role": "user", "content": "bye"},
    ],
    "uni": "héllo wörld ß 世界",
    "nested": {"a": {"b": [1, {"c": "deep"}]}},
}

FEATURES = [
    # literals and printing
    "{{ 1 }} {{ -2 }} {{ 1.5 }} {{ 1e3 }} {{ 1_000 }} {{ 0.1 + 0.2 }} {{ 1e20 }} {{ 1e16 }} {{ 1e15 }} {{ 1e-5 }} {{ 123456789.0 }}",
    "{{ 'a' 'b' }} {{ \"dq\" }} {{ 'it\\'s' }} {{ '\\n' }}|{{ '\\t\\x41\\u00e9' }}",
    "{{ true }} {{ false }} {{ none }} {{ True }} {{ None }}",
    "{{ [1, 'a', none, true, 1.5, [2]] }} {{ {'k': 'v', 'n': 1} }} {{ (1, 2) }} {{ (1,) }} {{ () }}",
    "{{ \"it's\" }} {{ ['it\\'s', 'say \"x\"', 'both \\' \"', '\\n'] }}",
    "{{ d }} {{ n }} {{ f }} {{ i }} {{ t }}",
    "{{ undefined_var }}|{{ d.missing }}|{{ d['missing'] }}|{{ xs[10] }}|{{ n.x }}|{{ s.nope }}",
    # arithmetic
    "{{ 1 + 2 * 3 }} {{ (1 + 2) * 3 }} {{ 7 / 2 }} {{ 8 / 2 }} {{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ -7 % 3 }} {{ 2 ** 10 }} {{ 2 ** -1 }}",
    "{{ 7.5 // 2 }} {{ 7.5 % 2 }} {{ -7.5 % 2 }} {{ 1 + 1.5 }} {{ true + 1 }} {{ 3 * 'ab' }} {{ 'ab' * 2 }} {{ [1] * 2 }}",
    "{{ 'a' + 'b' }} {{ [1] + [2, 3] }} {{ 'x' ~ 1 ~ none ~ true ~ 1.0 }} {{ -f }} {{ +i }}",
    "{{ 2 ** 3 ** 2 }} {{ -2 ** 2 }} {{ 10 - 2 - 3 }} {{ 2 * 3 % 4 }}",
    # comparisons and logic
    "{{ 1 < 2 }} {{ 2 <= 1 }} {{ 1 == 1.0 }} {{ 'a' < 'b' }} {{ [1, 2] < [1, 3] }} {{ 1 != 2 }} {{ none == none }} {{ true == 1 }}",
    "{{ 1 < 2 < 3 }} {{ 3 > 2 > 2 }} {{ 1 < 2 > 0 }}",
    "{{ 'ell' in 'hello' }} {{ 2 in xs }} {{ 'a' in d }} {{ 'z' not in d }} {{ 5 not in xs }} {{ not 'x' in 'abc' }}",
    "{{ true and 'x' }} {{ 0 or 'y' }} {{ none or [] }} {{ '' and 1 }} {{ not none }} {{ not not 1 }}",
    "{{ 'yes' if t else 'no' }} {{ 'yes' if n else 'no' }} [{{ 'only' if false }}]",
    "{{ d == {'b': 1, 'a': 2, 'c': none} }} {{ xs == [3, 1, 2] }} {{ undefined_var == undefined_var }} {{ undefined_var is undefined }}",
    # attribute and subscript access
    "{{ msgs[0].role }} {{ msgs[-1]['content'] }} {{ nested.a.b[1].c }} {{ nested['a']['b'][0] }} {{ s[2] }} {{ s[-3] }}",
    "{{ xs[1:] }} {{ xs[:-1] }} {{ xs[::-1] }} {{ xs[::2] }} {{ s[2:7] }} {{ s[::-1] }} {{ uni[1:4] }} {{ uni[::-1] }} {{ xs[5:] }} {{ xs[-10:2] }}",
    "{{ msgs[1:][0].content }} {{ (msgs|last).content }} {{ msgs[0]['role'] == 'system' }}",
    "{{ d.items() | list }} {{ d.keys() | list }} {{ d.values() | list }} {{ d.get('a') }} {{ d.get('zz') }} {{ d.get('zz', 5) }}",
    # string methods
    "[{{ s.strip() }}] [{{ s.lstrip() }}] [{{ s.rstrip() }}] [{{ 'xxhixx'.strip('x') }}] [{{ '\\n\\nhi\\n'.lstrip('\\n') }}] [{{ 'abcba'.rstrip('ab') }}]",
    "{{ 'a,b,,c'.split(',') }} {{ '  a  b c '.split() }} {{ 'a b c'.split(' ', 1) }} {{ 'a<think>b</think>c'.split('</think>')[-1] }} {{ 'abc'.split('x') }}",
    "{{ s.startswith('  He') }} {{ s.endswith('x') }} {{ 'hello'.startswith(('x', 'he')) }} {{ s.upper() }} {{ s.lower() }} {{ 'hello world'.title() }} {{ 'hELLO'.capitalize() }}",
    "{{ 'aaa'.replace('a', 'b') }} {{ 'aaa'.replace('a', 'b', 2) }} {{ 'hello'.find('l') }} {{ 'hello'.find('z') }} {{ 'hello'.rfind('l') }} {{ 'hello'.count('l') }} {{ '-'.join(['a', 'b']) }}",
    "{{ '{} and {}'.format('x', 1) }} {{ '{0}{1}{0}'.format('a', 'b') }} {{ '{name}!'.format(name='hi') }}",
    "{{ '12'.isdigit() }} {{ 'ab'.isalpha() }} {{ '  '.isspace() }} {{ 'AB'.isupper() }} {{ 'ab'.islower() }} {{ 'ab1'.isalnum() }}",
    "{{ 'prefix-x'.removeprefix('prefix-') }} {{ 'x.txt'.removesuffix('.txt') }} {{ 'a\\nb\\r\\nc'.splitlines() }} {{ 'a-b-c'.rsplit('-', 1) }}",
    # filters
    "{{ s | trim }}|{{ 'xxaxx' | trim('x') }}|{{ s | upper }}|{{ s | lower }}|{{ s | length }}|{{ xs | length }}|{{ d | length }}|{{ xs | count }}",
    "{{ xs | join(', ') }} {{ words | join }} {{ msgs | join('|', attribute='role') }} {{ xs | first }} {{ xs | last }} {{ s | first }} {{ [] | first }}|",
    "{{ undefined_var | default('dflt') }} {{ n | default('dflt') }} {{ n | default('dflt', true) }} {{ '' | default('e', boolean=true) }} {{ undefined_var | d('x') }}",
    "{{ xs | tojson }} {{ d | tojson }} {{ 'é\"\\n<>&' | tojson }} {{ none | tojson }} {{ 1.0 | tojson }} {{ nested | tojson(indent=2) }} {{ [] | tojson(indent=2) }} {{ {} | tojson }}",
    "{{ d | tojson(sort_keys=true) }} {{ d | tojson(separators=(',', ':')) }} {{ {'a': [1, {}]} | tojson(indent='\\t') }} {{ 1e100 | tojson }} {{ 'ctl\\x01\\x1f' | tojson }}",
    "{{ i | string }} {{ '42' | int + 1 }} {{ '4.7' | int }} {{ 'x' | int }} {{ 'x' | int(5) }} {{ 3.9 | int }} {{ '2.5' | float }} {{ 'x' | float }} {{ 3 | float }} {{ true | int }}",
    "{{ d | items | list }} {{ d | list }} {{ 'abc' | list }} {{ xs | list }} {{ undefined_var | items | list }}",
    "{{ msgs | map(attribute='role') | list }} {{ words | map('upper') | join }} {{ msgs | map(attribute='missing', default='-') | join }} {{ xs | map('string') | join('+') }}",
    "{{ msgs | selectattr('role', 'equalto', 'user') | map(attribute='content') | list }} {{ msgs | rejectattr('role', 'eq', 'user') | list | length }} {{ msgs | selectattr('tool_calls') | list | length }} {{ msgs | selectattr('tool_calls', 'defined') | list | length }}",
    "{{ xs | select('odd') | list }} {{ xs | reject('odd') | list }} {{ [0, 1, '', 'a', none] | select | list }} {{ xs | select('gt', 1) | list }} {{ xs | select('in', [1, 2]) | list }}",
    "{{ words | unique | list }} {{ words | unique(case_sensitive=true) | list }} {{ words | sort | list }} {{ words | sort(reverse=true) | list }} {{ words | sort(case_sensitive=true) | list }} {{ msgs | sort(attribute='role') | map(attribute='content') | join }}",
    "{{ 'a<b' | replace('<', '&lt;') }} {{ 'aaa' | replace('a', 'b', 2) }} {{ 'x' | safe }} {{ 'hello world' | capitalize }} {{ 'hello wORLD-foo bar' | title }} {{ 2.567 | round(2) }} {{ 2.5 | round }} {{ 3 | round }} {{ 2.1 | round(0, 'ceil') }} {{ 2.9 | round(method='floor') }}",
    "{{ -3 | abs }} {{ -2.5 | abs }} {{ d | dictsort }} {{ d | dictsort(reverse=true) }} {{ {'B': 1, 'a': 2} | dictsort }} {{ {'B': 1, 'a': 2} | dictsort(true) }} {{ {'x': 2, 'y': 1} | dictsort(by='value') }}",
    "{{ 'a\\nb\\n\\nc' | indent }}|{{ 'a\\nb' | indent(2, true) }}|{{ 'a\\n\\nb' | indent(2, blank=true) }}|{{ 'a\\nb' | indent('> ') }}",
    "{{ 'one two  three' | wordcount }} {{ xs | sum }} {{ xs | min }} {{ xs | max }} {{ words | min }} {{ msgs | sum(attribute='missing', start=0) if false else 0 }} {{ xs | reverse | list }} {{ 'abc' | reverse }}",
    "{{ 'x' | center(5) }}|{{ '%s-%d' | format('a', 3) }}|{{ 'ab' | e }}|{{ '<a href=\"x\">&\\'' | escape }}|{{ xs | batch(2) | list }}|{{ xs | batch(2, 0) | list }}",
    "{{ 'x' | safe + '<' }} {{ '<' + 'x' | safe }} {{ ('a' | safe) ~ '<' }} {{ 'long text here' | truncate(9) }} {{ 'short' | truncate(9) }}",
    "{{ words | attr('missing') }}|{{ 'abc' | attr('upper') is callable }}|{{ d | attr('a') }}|{{ d | attr('items') is callable }}",
    # tests
    "{{ n is none }} {{ s is string }} {{ i is number }} {{ f is number }} {{ t is number }} {{ d is mapping }} {{ xs is sequence }} {{ s is sequence }} {{ d is iterable }} {{ i is iterable }}",
    "{{ t is boolean }} {{ t is true }} {{ 1 is true }} {{ false is false }} {{ i is integer }} {{ f is float }} {{ i is odd }} {{ 4 is even }} {{ 9 is divisibleby 3 }} {{ 9 is divisibleby(4) }}",
    "{{ undefined_var is defined }} {{ undefined_var is undefined }} {{ d.a is defined }} {{ d.c is defined }} {{ d.c is none }} {{ 'x' is equalto 'x' }} {{ 1 is eq 2 }} {{ 2 is gt 1 }} {{ 'a' is in 'abc' }} {{ s is not string }}",
    "{{ 'abc' is lower }} {{ 'ABC' is upper }} {{ n is sameas none }} {{ d is callable }} {{ 'upper' is filter }} {{ 'odd' is test }} {{ range is callable }}",
    # statements
    "{% if xs %}A{% elif d %}B{% else %}C{% endif %}{% if [] %}A{% elif n %}B{% else %}C{% endif %}{% if none %}{% elif 0 %}{% elif 'x' %}D{% endif %}",
    "{% for x in xs %}{{ loop.index }}{{ loop.index0 }}{{ loop.revindex }}{{ loop.revindex0 }}{{ loop.first }}{{ loop.last }}{{ loop.length }};{% endfor %}",
    "{% for x in xs %}[{{ loop.previtem }}|{{ x }}|{{ loop.nextitem }}]{% endfor %} {% for x in xs %}{{ loop.cycle('a', 'b') }}{% endfor %} {% for x in xs %}{{ loop.depth }}{{ loop.depth0 }}{% endfor %}",
    "{% for x in [] %}no{% else %}empty{% endfor %} {% for x in xs if x > 5 %}no{% else %}filtered-empty{% endfor %} {% for x in xs if x > 1 %}{{ x }}:{{ loop.index }}/{{ loop.length }}{% endfor %}",
    "{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %} {% for k in d %}{{ k }}{% endfor %} {% for c in 'abc' %}{{ c }}.{% endfor %} {% for a, b in [[1, 2], (3, 4)] %}{{ a + b }}{% endfor %}",
    "{% for x in xs %}{% if x == 1 %}{% continue %}{% endif %}{{ x }}{% endfor %} {% for x in xs %}{% if x == 1 %}{% break %}{% endif %}{{ x }}{% endfor %} {% for x in xs %}{% for y in xs %}{% if y == 1 %}{% break %}{% endif %}{{ x }}{{ y }},{% endfor %}{% endfor %}",
    "{% for row in [[1, 2], [3]] %}{% for x in row %}{{ loop.index }}-{{ x }}{% endfor %}|{{ loop.index }}{% endfor %}",
    "{% set a = 1 %}{% set b, c = 2, 3 %}{% set e = [a, b, c] %}{{ e }}{% set a = a + 10 %}{{ a }}",
    "{% set y = 'outer' %}{% for i in [1, 2] %}{{ y }}{% set y = i %}{{ y }}{% endfor %}{{ y }}",
    "{% for i in [1, 2] %}{% if i == 2 %}[{{ z }}]{% endif %}{% set z = i %}{% endfor %}[{{ z }}]",
    "{% set y = 1 %}{% if true %}{% set y = 2 %}{% endif %}{{ y }}",
    "{% set ns = namespace(count=0, items=[]) %}{% for x in xs %}{% set ns.count = ns.count + x %}{% endfor %}{{ ns.count }} {{ ns.items }} {% set ns2 = namespace({'count': 5}, extra=1) %}{{ ns2.count }}{{ ns2.extra }}",
    "{% set block %}inner {{ 1 + 1 }}{% endset %}[{{ block }}] {% set up | upper %}shout{% endset %}{{ up }}",
    "{% macro greet(name, greeting='Hello') %}{{ greeting }}, {{ name }}!{% endmacro %}{{ greet('Ann') }} {{ greet('Bob', 'Hi') }} {{ greet(greeting='Yo', name='Cy') }} {{ greet() }}",
    "{% macro m(a) %}{{ a }}|{{ varargs }}|{{ kwargs }}{% endmacro %}{{ m(1, 2, 3, k=4) }}",
    "{% macro wrap(tag) %}<{{ tag }}>{{ caller() }}</{{ tag }}>{% endmacro %}{% call wrap('b') %}bold {{ 1 + 1 }}{% endcall %} {% macro each(xs) %}{% for x in xs %}{{ caller(x) }}{% endfor %}{% endmacro %}{% call(item) each([1, 2]) %}<{{ item }}>{% endcall %}",
    "{% macro rec(n) %}{{ n }}{% if n > 0 %}{{ rec(n - 1) }}{% endif %}{% endmacro %}{{ rec(3) }}",
    "{% set g = 4 %}{% macro f() %}{{ g }}{% endmacro %}{% set g = 5 %}{{ f() }} {% for x in xs %}{% set g = x %}{% macro h() %}{{ g }}{% endmacro %}{{ h() }}{% endfor %}",
    "{% filter upper %}shout {{ 'this' }}{% endfilter %} {% filter trim %}   padded   {% endfilter %}|",
    "{% raw %}{{ not rendered }} {% if %}{% endraw %}",
    "{# a comment #}x{# another\nmultiline comment #}y",
    "{% with a = 1, b = 2 %}{{ a + b }}{% endwith %}{{ a }}",
    "{{ range(3) | list }} {{ range(1, 4) | list }} {{ range(10, 0, -3) | list }} {{ dict(a=1, b='x') }} {{ namespace(a=1).a }} {% for i in range(2) %}{{ i }}{% endfor %}",
    "{{ strftime_now('%Y-%m-%d %H:%M:%S %d %b %Y %A %B') }}",
    "{% generation %}gen {{ 1 }}{% endgeneration %}",
    # whitespace control
    "  {% if true %}\n  x\n  {% endif %}\n  y\n",
    "a\n{# c #}\nb\n  {# c2 #}  \nc",
    "{% for x in xs %}\n  {{ x }}\n{% endfor %}\n",
    "a  {%- if true -%}  b  {%- endif -%}  c",
    "a \n {{- 'b' -}} \n c {{ 'd' }} \n e",
    "{%+ if true %}  x{% endif +%}\ny",
    "line1\n    {%+ if true %}kept{% endif %}\n",
    "\t {% if true %}tab\n\t {% endif %}\nend\n\n",
    "x {%- raw -%}  {{ raw }}  {%- endraw -%} y",
    "{% raw %}\nkept newline{% endraw %}\nafter\n  {% raw %}  x\n  {% endraw %}\nend",
    "{% if true %}\r\nwin\r\n{% endif %}\r\nend\r\n",
    "a\n{%- set x = 1 %}\nb{{ x }}",
    "trailing newline kept once\n\n",
    "{{ 'a' }}\n{{ 'b' }}\n",
    # corners found by differential fuzzing against jinja2
    "{{ 'x' % d }}|{{ '%(a)s-%(b)d' % d }}|{{ '%s' % d }}|{{ '%5.1f|%-4s|%03d|%x' % (2.25, 'ab', 7, 255) }}",
    "{{ xs | sort(attribute='role') | list }} {{ msgs | sort(attribute='role,content') | map(attribute='content') | join }}",
    "{{ 3[1:] }}|{{ none[:1] }}|{{ (2.0[:-1] ~ 'x') }}",
    "{% set v = n[1:] %}",
    "{{ xs[1:'a'] }}",
    "{{ d[1:] }}",
    "{{ 10 | indent }}",
    "{{ [1] is filter }}",
    "{{ d.items() }} {{ d.keys() }} {{ d.values() }} {{ d.items() | list }} {{ d.items()[0] }}",
    # errors
    "{{ raise_exception('custom failure: ' ~ 42) }}",
    "{% if xs %}{{ raise_exception('inside if') }}{% endif %}",
    "{{ undefined_var.attr }}",
    "{{ d.missing.attr }}",
    "{{ 'a' + 1 }}",
    "{{ 1 + none }}",
    "{{ xs.append(4) }}",
    "{{ d.update({'x': 1}) }}",
    "{{ undefined_var + 1 }}",
    "{{ undefined_var() }}",
    "{{ 'a' < 1 }}",
    "{{ 1 / 0 }}",
    "{{ undefined_var | tojson }}",
    "{{ range(1000000) | length }}",
    "{% for x in xs %}{{ x }}",
    "{% if true %}x{% endfor %}",
    "{{ 1 + }}",
    "{{ 'unterminated }}",
    "{% include 'other.jinja' %}",
    "{% extends 'base.jinja' %}",
    "{% do xs.append(1) %}",
    "{{ xs | nosuchfilter }}",
    "{{ xs is nosuchtest }}",
    "{% break %}",
    "{{ }}",
    "{% set %}",
    "{{ x y }}",
    "{% endif %}",
    "{% macro m() %}{% endmacro %}{{ m(1) }}",
]


def feature_cases():
    cases = []
    for source in FEATURES:
        case = {"template": source}
        case.update(render(source, dict(FEATURE_CONTEXT)))
        cases.append(case)
    return cases


def main():
    out = {
        "generator": "scripts/make_chat_template_expectations.py",
        "jinja2_version": jinja2.__version__,
        "now": FIXED_NOW.isoformat(),
    }
    with open(os.path.join(DATA, "template_cases.json"), "w", encoding="utf-8") as f:
        json.dump({**out, "cases": template_cases()}, f, ensure_ascii=False, indent=1)
        f.write("\n")
    with open(os.path.join(DATA, "feature_cases.json"), "w", encoding="utf-8") as f:
        json.dump({**out, "context": FEATURE_CONTEXT, "cases": feature_cases()}, f, ensure_ascii=False, indent=1)
        f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
