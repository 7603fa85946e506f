#pragma once
// `tandem eval logits`, a subcommand of `tandem eval` (cmd_eval.cpp adds it; its code lives in
// cmd_eval_logits.cpp).

#include <CLI/CLI.hpp>

namespace tandem::cli {

void add_eval_logits(CLI::App* eval);

}  // namespace tandem::cli
