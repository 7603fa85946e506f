#pragma once
// ChatML, the fallback chat template for a model that ships none: the format most instruction-tuned
// models of this size were trained on (Qwen, SmolLM, Hermes), and the one llama.cpp falls back to.
// A model trained on another format still answers, only worse; the server logs a warning.

#include <string_view>

namespace tandem {

inline constexpr std::string_view kChatmlTemplate =
    "{%- for message in messages -%}"
    "{{- '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' -}}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{- '<|im_start|>assistant\n' -}}{%- endif -%}";

}  // namespace tandem
