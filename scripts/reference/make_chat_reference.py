#!/usr/bin/env python3
"""Makes golden chat references for a model with llama.cpp (SmolLM2-135M-Instruct, Gemma 3 270M).

llama.cpp comes from the `llama-cpp-python` package, installed in a virtual environment outside
this repository (nothing of it is committed):

    python3 -m venv /tmp/peer && /tmp/peer/bin/pip install llama-cpp-python jinja2 numpy
    /tmp/peer/bin/python scripts/reference/make_chat_reference.py models/SmolLM2-135M-Instruct.Q4_1.gguf \
        tests/data/golden/smollm2-135m-instruct.greedy.json
    /tmp/peer/bin/python scripts/reference/make_chat_reference.py models/gemma-3-270m-q4_k_m.gguf \
        tests/data/golden/gemma-3-270m.greedy.json

Each prompt is rendered with the model's own chat template (jinja2, transformers' settings),
tokenized by llama.cpp with special tokens parsed, and continued greedily (argmax of the logits,
one thread) for 32 tokens or until end of generation. For every generated position the five
highest logits are kept too, so that a test can tell a real difference from a near-tie: this
Q4_1 model quantizes activations to 8 bits, which turns float summation-order noise into logit
differences of a few tenths (llama.cpp itself moves that much between its flash-attention and
plain attention paths).
"""
import json
import sys

import jinja2
import numpy as np
from jinja2.sandbox import ImmutableSandboxedEnvironment
import llama_cpp
from llama_cpp import Llama

CONVERSATIONS = [
    [{"role": "user", "content": "What is the capital of France?"}],
    [{"role": "system", "content": "You are a concise assistant."},
     {"role": "user", "content": "Name three primary colors."}],
    [{"role": "user", "content": "Write a haiku about the sea."}],
    [{"role": "user", "content": "Hi! Who are you?"},
     {"role": "assistant", "content": "I am a helpful AI assistant."},
     {"role": "user", "content": "What can you help me with?"}],
    [{"role": "user", "content": "Explain in one sentence why the sky is blue."}],
    [{"role": "user", "content": "Translate 'good morning' into Spanish."}],
    [{"role": "user", "content": "Give me a short tip for staying focused while working."}],
    [{"role": "system", "content": "You answer with a single word."},
     {"role": "user", "content": "What color is grass?"}],
    [{"role": "user", "content": "List the first five prime numbers."}],
    [{"role": "user", "content": "What is 12 plus 30?"}],
]
# For models whose GGUF carries no chat template (the Gemma 3 270M package), plain prompts.
RAW_PROMPTS = [
    "The capital of France is",
    "Once upon a time, in a small village,",
    "def fibonacci(n):",
    "The three primary colors are",
    "Water boils at a temperature of",
]
N_PREDICT = 32


def render(template_source, messages, bos, eos):
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                        extensions=[jinja2.ext.loopcontrols])
    return env.from_string(template_source).render(messages=messages, add_generation_prompt=True,
                                                   bos_token=bos, eos_token=eos)


def main():
    model_path, out_path = sys.argv[1], sys.argv[2]
    llm = Llama(model_path=model_path, n_ctx=2048, n_threads=1, n_batch=512, logits_all=True, verbose=False)
    meta = llm.metadata
    vocab_handle = llama_cpp.llama_model_get_vocab(llm.model)
    template = meta.get("tokenizer.chat_template")
    vocab = lambda i: llm.detokenize([i], special=True).decode("utf-8", "replace")
    bos = vocab(int(meta["tokenizer.ggml.bos_token_id"]))
    eos = vocab(int(meta["tokenizer.ggml.eos_token_id"]))
    records = []
    inputs = CONVERSATIONS if template else [None] * len(RAW_PROMPTS)
    for index, messages in enumerate(inputs):
        prompt = render(template, messages, bos, eos) if template else RAW_PROMPTS[index]
        tokens = llm.tokenize(prompt.encode("utf-8"), add_bos=True, special=True)
        llm.reset()
        llm.eval(tokens)
        generated = []
        top_logits = []
        for _ in range(N_PREDICT):
            logits = np.array(llm.scores[llm.n_tokens - 1])
            token = int(np.argmax(logits))
            best = np.argsort(-logits)[:5]
            top_logits.append([[int(i), round(float(logits[i]), 4)] for i in best])
            if llama_cpp.llama_vocab_is_eog(vocab_handle, token):
                break
            generated.append(token)
            llm.eval([token])
        text = llm.detokenize(generated).decode("utf-8", "replace")
        records.append({**({"messages": messages} if messages else {}), "prompt": prompt, "prompt_tokens": tokens,
                        "greedy_tokens": generated, "greedy_text": text,
                        "top_logits": top_logits[:len(generated)]})
        print(repr(text), file=sys.stderr)
    with open(out_path, "w", encoding="utf-8") as f:
        json.dump(records, f, ensure_ascii=False, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
