"""Batch independence of the MoE and hybrid families through the real server (issue 16).

llama.cpp's tiny test models (tests/data/arch) have a stub vocabulary ("tok_N", tokenizer model
"test") that no server can tokenize text with, and /v1/completions takes text only. So each test
here first writes a copy of the model with a real vocabulary: stories260K's 512-token llama
tokenizer, the architecture's metadata and layers unchanged, token_embd and output grown to 512
rows (the extra rows random, fixed seed). The layers under test (qwen3moe's experts, qwen3next's
DeltaNet, gated attention and shared expert) are llama.cpp's generator output as committed.

Then, for qwen3moe, qwen3next, qwen2moe and Mixtral (the last two as top-1 copies) alike: 16 concurrent identical greedy requests return the lone
request's text, and a request decoded among 16 different ones returns the lone request's text and
bit-identical logprobs (every token's logprob and top 5 equal as floats, not approximately).
A poller of /metrics (tandem_running_sequences) checks that the requests did decode together.
The engine-level checks (forward_batch against forward, logits compared bit for bit) are
tests/unit/model/moe_test.cpp (a qwen3moe-style model, one sequence among 16 others) and
tests/unit/model/qwen3next_test.cpp (three sequences).
"""

import concurrent.futures
import re
import threading
from pathlib import Path

import gguf
import numpy as np
import openai
import pytest
import requests

from conftest import API_KEY, ROOT

ARCH_DIR = ROOT / "tests/data/arch"
VOCAB_MODEL = ROOT.parent / "shared/models/stories260K.gguf"
N_CONCURRENT = 16
MAX_TOKENS = 32
PROMPT = "Once upon a time, there was a little"
OTHER_PROMPTS = [f"The {w} went to the park and saw" for w in
                 ("cat", "dog", "bird", "girl", "boy", "fish", "frog", "king",
                  "queen", "tree", "car", "ball", "sun", "moon", "star", "bear")]


def field_value(field):
    types = field.types
    sub = types[-1] if types[0] == gguf.GGUFValueType.ARRAY else None
    return field.contents(), types[0], sub


def with_real_vocabulary(src: Path, dst: Path, n_expert_used: int | None = None) -> Path:
    """src with stories260K's tokenizer, its embedding and output grown to that vocabulary (and
    {arch}.expert_used_count set to n_expert_used when given)."""
    model = gguf.GGUFReader(src)
    vocab = gguf.GGUFReader(VOCAB_MODEL)
    arch = model.fields["general.architecture"].contents()
    n_vocab = len(vocab.fields["tokenizer.ggml.tokens"].contents())
    writer = gguf.GGUFWriter(dst, arch)
    for name, field in model.fields.items():
        if name.startswith("GGUF.") or name == "general.architecture" or name.startswith("tokenizer."):
            continue
        value, kind, sub = field_value(field)
        if kind == gguf.GGUFValueType.ARRAY and len(value) == 0:
            continue  # gguf-py cannot write an empty array (the generator's unused lists)
        if name == f"{arch}.vocab_size":
            value = n_vocab
        if name == f"{arch}.expert_used_count" and n_expert_used is not None:
            value = n_expert_used
        writer.add_key_value(name, value, kind, sub_type=sub)
    for name, field in vocab.fields.items():
        if name.startswith("tokenizer.") and "chat_template" not in name:
            value, kind, sub = field_value(field)
            writer.add_key_value(name, value, kind, sub_type=sub)
    rng = np.random.default_rng(42)
    for t in model.tensors:
        data = np.array(t.data)
        if t.name in ("token_embd.weight", "output.weight"):
            assert t.tensor_type == gguf.GGMLQuantizationType.F32, t.name
            extra = rng.normal(0.0, 0.1, (n_vocab - data.shape[0], data.shape[1])).astype(np.float32)
            data = np.concatenate([data, extra])
        writer.add_tensor(t.name, data, raw_dtype=t.tensor_type)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return dst


# qwen2moe and Mixtral (llama with experts) run top-1 copies of their two-expert files, so that
# the router really splits the batch's tokens between the experts.
@pytest.fixture(scope="module", params=["qwen3moe-plain", "qwen3next-moe", "qwen2moe-top1", "llama-top1"])
def hybrid_server(request, tmp_path_factory):
    from conftest import Server

    if not VOCAB_MODEL.exists():
        pytest.fail(f"{VOCAB_MODEL} is missing (the shared tiny model)")
    tmp = tmp_path_factory.mktemp(request.param)
    top1 = request.param.endswith("-top1")
    source = request.param.replace("-top1", "-moe") if top1 else request.param
    model = with_real_vocabulary(ARCH_DIR / f"{source}.gguf", tmp / f"{request.param}-vocab.gguf",
                                 n_expert_used=1 if top1 else None)
    s = Server(tmp, {"model": {"path": str(model), "max_batch_size": N_CONCURRENT + 1},
                     "server": {"max_concurrent_requests": 64}})
    s.model_id = model.stem
    yield s
    s.stop()


def complete(server, prompt: str, logprobs: bool = False):
    client = openai.OpenAI(base_url=server.base_url + "/v1", api_key=API_KEY, max_retries=0, timeout=300)
    r = client.completions.create(model=server.model_id, prompt=prompt, max_tokens=MAX_TOKENS, temperature=0,
                                  logprobs=5 if logprobs else None)
    choice = r.choices[0]
    if not logprobs:
        return choice.text, r.usage.completion_tokens
    lp = choice.logprobs
    return choice.text, r.usage.completion_tokens, (lp.tokens, lp.token_logprobs, lp.top_logprobs)


class RunningPeak:
    """Polls tandem_running_sequences while the block runs: the most sequences seen decoding at once."""

    def __init__(self, server):
        self.server, self.peak, self.done = server, 0, threading.Event()

    def poll(self):
        while not self.done.is_set():
            text = requests.get(self.server.base_url + "/metrics", headers=self.server.headers(), timeout=10).text
            m = re.search(r"^tandem_running_sequences (\S+)$", text, re.M)
            self.peak = max(self.peak, int(float(m.group(1))))

    def __enter__(self):
        self.thread = threading.Thread(target=self.poll)
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.done.set()
        self.thread.join()


def test_16_concurrent_identical_greedy_requests_equal_the_lone_one(hybrid_server):
    lone, n_lone = complete(hybrid_server, PROMPT)
    assert n_lone >= 4, f"the lone request stopped after {n_lone} tokens: too short to compare"
    with RunningPeak(hybrid_server) as running, \
            concurrent.futures.ThreadPoolExecutor(max_workers=N_CONCURRENT) as pool:
        answers = list(pool.map(lambda _: complete(hybrid_server, PROMPT), range(N_CONCURRENT)))
    assert [text for text, _ in answers] == [lone] * N_CONCURRENT
    assert running.peak >= 2, "the requests never decoded together"


def test_a_request_among_16_others_gives_bit_identical_logprobs(hybrid_server):
    lone = complete(hybrid_server, PROMPT, logprobs=True)
    assert lone[1] >= 4
    with RunningPeak(hybrid_server) as running, \
            concurrent.futures.ThreadPoolExecutor(max_workers=N_CONCURRENT + 1) as pool:
        others = [pool.submit(complete, hybrid_server, p, True) for p in OTHER_PROMPTS]
        among = pool.submit(complete, hybrid_server, PROMPT, True)
        others_done = [f.result() for f in others]
        among = among.result()
    assert running.peak >= 2, "the requests never decoded together"
    # The others differ from it (else nothing was batched that could disturb it).
    assert any(o[0] != lone[0] for o in others_done)
    text, n, (tokens, token_logprobs, tops) = among
    assert (text, n, tokens) == (lone[0], lone[1], lone[2][0])
    assert token_logprobs == lone[2][1]  # floats compared exactly: bit-identical logits give these
    assert tops == lone[2][2]


def test_synth_qwen3next_with_two_layers_loads_and_serves(tmp_path, make_server):
    """`tandem synth --preset qwen3next-80b-a3b --layers 2`: the real layer shapes (512 experts, the
    shared expert, DeltaNet's 16/32 heads) and Qwen's vocabulary size load, run and serve text.
    Two layers are both DeltaNet (attention is every 4th); the benchmark's 4-layer files run the
    gated attention layer too (benchmarks/moe_bench.py)."""
    import json
    import subprocess

    from conftest import BINARY

    path = tmp_path / "qwen3next-2L.gguf"
    subprocess.run([str(BINARY), "synth", "--preset", "qwen3next-80b-a3b", "--type", "q4_0", "--layers", "2",
                    str(path)], cwd=ROOT, check=True, timeout=900)
    out = subprocess.run([str(BINARY), "eval", "logits", "-m", str(path), "--ids", "9707,11,1879,0", "--top", "3",
                          "--json"], check=True, timeout=300, capture_output=True, text=True).stdout
    positions = json.loads(out)["positions"]
    assert len(positions) == 4
    for p in positions:
        assert len(p["top"]) == 3
        assert all(0 <= token < 151936 and np.isfinite(logit) for token, logit in p["top"])

    s = make_server(model={"path": str(path), "context_size": 256})
    client = openai.OpenAI(base_url=s.base_url + "/v1", api_key=API_KEY, max_retries=0, timeout=300)
    r = client.completions.create(model=path.stem, prompt="Hello, world", max_tokens=6, temperature=0)
    assert r.usage.completion_tokens >= 1
    assert r.usage.prompt_tokens >= 2  # GPT-2's tokenizer, not a stub
    path.unlink()
