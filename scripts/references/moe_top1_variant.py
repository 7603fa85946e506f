#!/usr/bin/env python3
"""Writes a top-1 variant of one of llama.cpp's two-expert test models (qwen3moe, qwen2moe, llama
with experts): the same file with {arch}.expert_used_count = 1 instead of 2, so the router really
chooses (one of the two experts per token, the other never read) and renormalisation shows (weight
1, or the expert's probability for qwen2moe), which the generator's file, using every expert, does
not test. Its references come from llama.cpp like the others (llama_logits.cpp):

  python3 moe_top1_variant.py tests/data/arch/qwen3moe-plain.gguf tests/data/arch/qwen3moe-top1.gguf
  llama_logits tests/data/arch/qwen3moe-top1.gguf --lengths 8,32,64 --seed 42 --top 10 \\
      > tests/data/arch/qwen3moe-top1.logits.json
"""

import sys

import gguf


def main() -> None:
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    reader = gguf.GGUFReader(sys.argv[1])
    arch = reader.get_field("general.architecture").contents()
    writer = gguf.GGUFWriter(sys.argv[2], arch)
    for field in reader.fields.values():
        if field.name == "general.architecture" or field.name.startswith("GGUF."):
            continue
        value_type = field.types[0]
        sub_type = field.types[-1] if value_type == gguf.GGUFValueType.ARRAY else None
        value = field.contents()
        if value_type == gguf.GGUFValueType.ARRAY and not value:
            continue
        if field.name == f"{arch}.expert_used_count":
            value = 1
        writer.add_key_value(field.name, value, value_type, sub_type=sub_type)
    for t in reader.tensors:
        writer.add_tensor_info(t.name, t.data.shape, t.data.dtype, t.data.nbytes, t.tensor_type)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_ti_data_to_file()
    for t in reader.tensors:
        writer.write_tensor_data(t.data, tensor_endianess=reader.endianess)
    writer.close()


if __name__ == "__main__":
    main()
