#!/usr/bin/env python3
"""Writes pre_tokenizer_splits.json: how each pre-tokenizer family cuts a set of strings, computed
with the original split patterns and the `regex` module (which knows Unicode categories).

    python3 tests/data/tokenizer/make_pre_tokenizer_splits.py   # needs `pip install regex`

Each family is a list of patterns applied in turn, each one splitting every current piece where it
matches and between matches (Hugging Face's Split(..., behavior="isolated"), as llama.cpp chains
them). Two llama.cpp details are reproduced: a pattern is matched within one piece at a time, so
look-ahead and `$` stop at the piece's end; and patterns that list literal characters without
\\p{..} classes see non-ASCII white space as U+000B (so U+3000 is never "punctuation").
The test strings are llama.cpp's tokenizer test strings plus cases aimed at each scanner.
"""

import json
import os
import sys

import regex

HERE = os.path.dirname(os.path.abspath(__file__))
REFERENCE_INP = os.path.join(HERE, "..", "..", "..", "..", "shared", "reference", "tokenizer", "ggml-vocab-gpt-2.gguf.inp")

GPT2 = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"
LLAMA3 = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
QWEN2 = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
GPT4O = (r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?"
         r"|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?"
         r"|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+")
TEKKEN = (r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+"
          r"|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*"
          r"|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+")
DEEPSEEK_V3 = (r"[!\"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+"
               r"| ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
# DeepSeek-LLM's cased-letter class, written with escapes (the literal characters include
# compatibility forms such as U+2126 OHM SIGN that text tools like to normalise away).
DEEPSEEK_LETTER_RANGES = [
    (0x41, 0x5A), (0x61, 0x7A), (0xB5, 0xB5), (0xC0, 0xD6), (0xD8, 0xF6), (0xF8, 0x1BA), (0x1BC, 0x1BF),
    (0x1C4, 0x293), (0x295, 0x2AF), (0x370, 0x373), (0x376, 0x377), (0x37B, 0x37D), (0x37F, 0x37F),
    (0x386, 0x386), (0x388, 0x38A), (0x38C, 0x38C), (0x38E, 0x3A1), (0x3A3, 0x3F5), (0x3F7, 0x481),
    (0x48A, 0x52F), (0x531, 0x556), (0x10A0, 0x10C5), (0x13A0, 0x13F5), (0x13F8, 0x13FD), (0x1C90, 0x1CBA),
    (0x1CBD, 0x1CBF), (0x1D00, 0x1D2B), (0x1D6B, 0x1D77), (0x1D79, 0x1D9A), (0x1E00, 0x1F15), (0x1F18, 0x1F1D),
    (0x1F20, 0x1F45), (0x1F48, 0x1F4D), (0x1F50, 0x1F57), (0x1F59, 0x1F59), (0x1F5B, 0x1F5B), (0x1F5D, 0x1F5D),
    (0x1F5F, 0x1F7D), (0x1F80, 0x1FB4), (0x1FB6, 0x1FBC), (0x1FBE, 0x1FBE), (0x1FC2, 0x1FC4), (0x1FC6, 0x1FCC),
    (0x1FD0, 0x1FD3), (0x1FD6, 0x1FDB), (0x1FE0, 0x1FEC), (0x1FF2, 0x1FF4), (0x1FF6, 0x1FFC), (0x2102, 0x2102),
    (0x2107, 0x2107), (0x210A, 0x2113), (0x2115, 0x2115), (0x2119, 0x211D), (0x2124, 0x2124), (0x2126, 0x2126),
    (0x2128, 0x2128), (0x212A, 0x212D), (0x212F, 0x2134), (0x2139, 0x2139), (0x213C, 0x213F), (0x2145, 0x2149),
    (0x214E, 0x214E), (0x2183, 0x2184), (0x2C00, 0x2C7B), (0x2C7E, 0x2CE4), (0x2CEB, 0x2CEE), (0x2CF2, 0x2CF3),
    (0xA640, 0xA66D), (0xA680, 0xA69B), (0xA722, 0xA76F), (0xA771, 0xA787), (0xA78B, 0xA78E), (0xAB70, 0xABBF),
    (0xFB00, 0xFB06), (0xFB13, 0xFB17), (0xFF21, 0xFF3A), (0xFF41, 0xFF5A), (0x10400, 0x1044F),
    (0x104B0, 0x104D3), (0x104D8, 0x104FB), (0x10C80, 0x10CB2), (0x10CC0, 0x10CF2), (0x118A0, 0x118DF),
    (0x1E900, 0x1E943),
]
DEEPSEEK_LETTERS = r"\s?[" + "".join(f"\\U{a:08x}-\\U{b:08x}" for a, b in DEEPSEEK_LETTER_RANGES) + "]+"
DEEPSEEK_PUNCT = r"\s?[!-/:-~\uff01-\uff0f\uff1a-\uff5e\u2018-\u201f\u3000-\u3002]+"
CJK = r"[\u4e00-\u9fa5\u0800-\u4e00\uac00-\ud7ff]+"
BLOOM = r" ?[^(\s|.,!?\u2026\u3002\uff0c\u3001\u0964\u06d4\u060c)]+"

FAMILIES = {
    "default": [r"[\p{P}\$\+<=>\^~\|]+", GPT2, r"\p{N}+", r"[0-9][0-9][0-9]"],
    "llama3": [LLAMA3],
    "dbrx": [LLAMA3],
    "chatglm-bpe": [LLAMA3],
    "deepseek-llm": [r"[\r\n]", DEEPSEEK_LETTERS, DEEPSEEK_PUNCT, r"\s+$", CJK, r"\p{N}+"],
    "deepseek-coder": [r"[\r\n]", r"\s?\p{L}+", r"\s?\p{P}+", CJK, r"\p{N}"],
    "deepseek-v3": [r"\p{N}{1,3}", r"[\u4e00-\u9fa5\u3040-\u309f\u30a0-\u30ff]+", DEEPSEEK_V3],
    "falcon": [r"[\p{P}\$\+<=>\^~\|`]+", GPT2, r"[0-9][0-9][0-9]"],
    "gpt-2": [GPT2],
    "starcoder": [r"\p{N}", GPT2],
    "qwen2": [QWEN2],
    "bloom": [BLOOM],
    "viking": [BLOOM, r"\p{N}"],
    "tekken": [TEKKEN],
    "chameleon": [r"<sentinel:[0-9]+>", r"(IMGIMG)((A|B|C|D|E|F|G|H|I){1,4})Z", r"([\t\n]|    |  )", r"\p{N}",
                  r"[\p{P}!-/:-@\[-`{-~]", GPT2],
    "gpt-4o": [GPT4O],
}

# White_Space minus ASCII: what llama.cpp turns into U+000B before literal-class patterns.
NON_ASCII_SPACE = set([0x85, 0xA0, 0x1680, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000] + list(range(0x2000, 0x200B)))

EXTRA_STRINGS = [
    "HelloWorld ABCdef camelCase XMLHttpRequest iPhone McDONALD's",
    "I'M here, they'RE sure we'Ll see. don't won't it's 'twas",
    "  multiple   spaces\n\n\tand\r\nCRLF \r\n\r\n  x",
    "numbers 1234567 \u0661\u0662\u0663\u0664 \u00bd\u2155 12.5e-3",
    "mixed\u4e2d\u6587english\ud55c\uad6d\uc5b4\u30c6\u30b9\u30c8\u3072\u3089\u304c\u306a",
    "e\u0301 combining a\u0308 \u0915\u094d\u0937 \u0301start",
    "<sentinel:12> <sentinel:> IMGIMGABCZ IMGIMGABCDEZ IMGIMGZ    four  two\t\ttabs",
    "path/to/file.txt //comment\n/* block */ a/b",
    "~tilde ~~ $dollar +plus ^caret `tick` |pipe| <tag> = x",
    "a\u3000b\u00a0c\u2003d \u3000 \u3001\u3002\uff0c",
    "trailing   ",
    "...!!!???\u2026 \u0964 \u06d4 \u060c (paren) a|b",
    "\u2126hm \u212aelvin \u1f7d \u03ce \u1fbe",
    "x\u200dy\u200bz\ufeff",
    "ALLCAPS WORD'S Stop'S",
    "tab\tseparated\tvalues\n",
    "   leading",
    "\n",
    " ",
    "'",
    "a'",
    "'s",
]


def split_piece(pattern: str, piece: str) -> list:
    if not piece:
        return []
    out = []
    pos = 0
    for m in regex.finditer(pattern, piece):
        if m.start() == m.end():
            continue
        if m.start() > pos:
            out.append((pos, m.start()))
        out.append((m.start(), m.end()))
        pos = m.end()
    if pos < len(piece):
        out.append((pos, len(piece)))
    return out


def pre_tokenize(patterns: list, text: str) -> list:
    pieces = [text] if text else []
    for pattern in patterns:
        literal = "\\p{" not in pattern
        pattern = pattern.replace("$", r"\Z") if pattern.endswith("$") else pattern
        refined = []
        for piece in pieces:
            view = "".join("\x0b" if literal and ord(c) in NON_ASCII_SPACE else c for c in piece)
            refined.extend(piece[a:b] for a, b in split_piece(pattern, view))
        pieces = refined
    return pieces


def main() -> None:
    with open(REFERENCE_INP, "rb") as f:
        data = f.read().decode("utf-8")
    strings = data.split("\n__ggml_vocab_test__\n")[:-1] + EXTRA_STRINGS
    result = {name: [[s, pre_tokenize(patterns, s)] for s in strings] for name, patterns in FAMILIES.items()}
    out_path = os.path.join(HERE, "pre_tokenizer_splits.json")
    with open(out_path, "w", encoding="utf-8") as f:
        json.dump({"regex_module": regex.__version__, "families": result}, f, ensure_ascii=False, indent=0)
        f.write("\n")
    print(f"wrote {out_path}", file=sys.stderr)


if __name__ == "__main__":
    main()
