#!/usr/bin/env python3
"""Writes the "plain" variant of one of llama.cpp's random-weight test models: the same weights and
metadata, less what real converted files of that architecture never carry.

llama.cpp's generator (tests/test-llama-archs.cpp) gives every model every optional tensor its graph
can use: biases on all projections, per-tensor `.scale` multipliers (NVFP4-style) and `.input_scale`
values, and for gemma3 the sliding-window pattern as a per-layer array. llama.cpp applies all of them.
The plain variant keeps exactly the tensors a real file of the architecture has (below), and writes
gemma3's pattern [1, 0] as the scalar 2, which llama.cpp reads as the same per-layer pattern (layer
0 sliding, layer 1 global). llama.cpp then computes the function a real file would have, and the
references of both variants come from llama.cpp (scripts/references/make_arch_references.sh).

  python3 plain_variant.py IN.gguf OUT.gguf   (needs the `gguf` package: requirements or llama.cpp's gguf-py)
"""

import re
import sys

import gguf

COMMON = {"token_embd.weight", "output_norm.weight", "output.weight"}
LAYER_COMMON = {"attn_norm", "attn_q", "attn_k", "attn_v", "attn_output", "ffn_norm", "ffn_gate", "ffn_up", "ffn_down"}
# Per architecture: extra per-layer tensors ("NAME.weight" unless it ends in .bias) and global ones.
LAYER_EXTRA = {
    "llama": set(),
    "qwen2": {"attn_q.bias", "attn_k.bias", "attn_v.bias"},
    "qwen3": {"attn_q_norm", "attn_k_norm"},
    "gemma3": {"attn_q_norm", "attn_k_norm", "post_attention_norm", "post_ffw_norm"},
    "qwen3moe": {"attn_q_norm", "attn_k_norm", "ffn_gate_inp", "ffn_gate_exps", "ffn_up_exps", "ffn_down_exps"},
}
GLOBAL_EXTRA = {"llama": {"rope_freqs.weight"}}


def keep(arch: str, name: str) -> bool:
    if name in COMMON or name in GLOBAL_EXTRA.get(arch, set()):
        return True
    m = re.fullmatch(r"blk\.\d+\.(.+)", name)
    if not m:
        return False
    part = m.group(1)
    allowed = {f"{t}.weight" for t in LAYER_COMMON | {e for e in LAYER_EXTRA[arch] if not e.endswith(".bias")}}
    allowed |= {e for e in LAYER_EXTRA[arch] if e.endswith(".bias")}
    return part in allowed


def main() -> None:
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    reader = gguf.GGUFReader(sys.argv[1])
    arch = reader.get_field("general.architecture").contents()
    if arch not in LAYER_EXTRA:
        sys.exit(f"{sys.argv[1]}: no plain variant for architecture {arch}")
    writer = gguf.GGUFWriter(sys.argv[2], arch)
    swa_key = f"{arch}.attention.sliding_window_pattern"
    for field in reader.fields.values():
        if field.name == "general.architecture" or field.name.startswith("GGUF."):
            continue
        value_type = field.types[0]
        sub_type = field.types[-1] if value_type == gguf.GGUFValueType.ARRAY else None
        value = field.contents()
        if field.name == swa_key and value_type == gguf.GGUFValueType.ARRAY:
            if value != [1, 0]:
                sys.exit(f"{swa_key} = {value}: only the generator's [1, 0] is known to equal a scalar pattern")
            writer.add_key_value(field.name, 2, gguf.GGUFValueType.UINT32)
            continue
        if value_type == gguf.GGUFValueType.ARRAY and not value:
            continue  # gguf-py writes no empty arrays (tokenizer.ggml.merges, classifier labels: unused)
        writer.add_key_value(field.name, value, value_type, sub_type=sub_type)
    tensors = [t for t in reader.tensors if keep(arch, t.name)]
    dropped = sorted({re.sub(r"^blk\.\d+\.", "blk.N.", t.name) for t in reader.tensors if not keep(arch, t.name)})
    for t in tensors:
        writer.add_tensor_info(t.name, t.data.shape, t.data.dtype, t.data.nbytes, t.tensor_type)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_ti_data_to_file()
    for t in tensors:
        writer.write_tensor_data(t.data, tensor_endianess=reader.endianess)
    writer.close()
    print(f"{sys.argv[2]}: {len(tensors)} tensors kept; dropped {', '.join(dropped) or 'none'}", file=sys.stderr)


if __name__ == "__main__":
    main()
