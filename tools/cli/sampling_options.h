#pragma once
// Sampling flags shared by `run` and `chat`, declared once.

#include <CLI/CLI.hpp>

#include "sampling/sampling_params.h"

namespace tandem::cli {

inline void add_sampling_options(CLI::App* cmd, SamplingParams& p) {
  cmd->add_option("--temp", p.temperature, "Sampling temperature; 0 = greedy")->capture_default_str();
  cmd->add_option("--top-k", p.top_k, "Keep the k most likely tokens; 0 disables")->capture_default_str();
  cmd->add_option("--top-p", p.top_p, "Nucleus sampling mass; 1 disables")->capture_default_str();
  cmd->add_option("--min-p", p.min_p, "Drop tokens below min_p x the top probability; 0 disables")
      ->capture_default_str();
  cmd->add_option("--repeat-penalty", p.repeat_penalty, "llama.cpp repetition penalty; 1 disables")
      ->capture_default_str();
  cmd->add_option("--repeat-last-n", p.repeat_last_n, "Tokens the penalties look back over")->capture_default_str();
  cmd->add_option("--frequency-penalty", p.frequency_penalty, "OpenAI frequency penalty")->capture_default_str();
  cmd->add_option("--presence-penalty", p.presence_penalty, "OpenAI presence penalty")->capture_default_str();
  cmd->add_option("--seed", p.seed, "Random seed; the same seed gives the same text");
  cmd->add_option("--stop", p.stop, "Stop string (repeatable)");
}

}  // namespace tandem::cli
