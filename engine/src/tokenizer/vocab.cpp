// Reading `tokenizer.ggml.*` into a Vocab, with llama.cpp's defaults and fix-ups (llama-vocab.cpp)
// so that a GGUF file tokenizes here as it does there.

#include "tokenizer/vocab.h"

#include <algorithm>
#include <cstdio>
#include <functional>
#include <initializer_list>
#include <iterator>

#include "gguf/gguf_reader.h"

namespace tandem {

namespace {

constexpr std::string_view kKeyPrefix = "tokenizer.ggml.";

std::string key(std::string_view name) { return std::string(kKeyPrefix) + std::string(name); }

uint32_t attr_from_type(int64_t type) {
  switch (static_cast<TokenType>(type)) {
    case TokenType::kNormal: return kAttrNormal;
    case TokenType::kUnknown: return kAttrUnknown;
    case TokenType::kControl: return kAttrControl;
    case TokenType::kUserDefined: return kAttrUserDefined;
    case TokenType::kUnused: return kAttrUnused;
    case TokenType::kByte: return kAttrByte;
    case TokenType::kUndefined: return kAttrUndefined;
  }
  return kAttrUndefined;
}

template <typename Set>
bool is_one_of(std::string_view s, const Set& set) {
  return std::find(std::begin(set), std::end(set), s) != std::end(set);
}

// Texts that mark end-of-turn / end-of-generation tokens in the common chat vocabularies.
// GGUF files rarely list them all in metadata, so llama.cpp recognises them by text.
constexpr std::string_view kEotTexts[] = {
    "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|end_of_text|>",
    "<EOT>",      "_<EOT>",     "<｜end▁of▁sentence｜>",      "<end_of_utterance>",
};
constexpr std::string_view kEogTexts[] = {
    "<|eot_id|>",    "<|im_end|>", "<|end|>", "<|return|>",      "<|call|>",          "<end_of_turn>",
    "<|endoftext|>", "<|eom_id|>", "<EOT>",   "_<EOT>",          "<|end_of_text|>",   "<end_of_utterance>",
};
constexpr std::string_view kFimPadTexts[] = {"<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>"};
constexpr std::string_view kFimRepTexts[] = {"<|fim_repo|>", "<|repo_name|>", "<fim-repo>",
                                                                  "<REPO>", "<reponame>"};
constexpr std::string_view kFimSepTexts[] = {"<|file_sep|>"};

Result<std::vector<std::string>> read_strings(const gguf::GgufFile& file, const std::string& name) {
  const gguf::Array* array = file.get_array(name);
  if (array == nullptr) return make_error(name + " is missing");
  std::vector<std::string> out;
  out.reserve(array->items.size());
  for (size_t i = 0; i < array->items.size(); ++i) {
    const std::string* s = array->items[i].as_string();
    if (s == nullptr) return make_error(name + "[" + std::to_string(i) + "] is not a string");
    out.push_back(*s);
  }
  return out;
}

void warn(const std::string& message) { std::fprintf(stderr, "tandem: warning: %s\n", message.c_str()); }

void mark_control(Vocab& v, int32_t id) {
  if ((v.attrs[id] & kAttrControl) == 0) v.attrs[id] = kAttrControl;
}

// First id whose text is one of `texts`, or -1.
template <typename Set>
int32_t find_any(const Vocab& v, const Set& texts) {
  for (size_t id = 0; id < v.texts.size(); ++id) {
    if (is_one_of(v.texts[id], texts)) return static_cast<int32_t>(id);
  }
  return -1;
}

// The first token (by priority) with a given text wins, as it would claim every occurrence first.
void add_special(SpecialMatcher& m, const std::string& text, int32_t id, int32_t priority) {
  if (!m.by_text.emplace(text, SpecialMatcher::Entry{id, priority}).second) return;
  std::vector<uint32_t>& lengths = m.lengths[static_cast<uint8_t>(text[0])];
  const auto length = static_cast<uint32_t>(text.size());
  if (std::find(lengths.begin(), lengths.end(), length) == lengths.end()) {
    lengths.insert(std::upper_bound(lengths.begin(), lengths.end(), length, std::greater<>()), length);
  }
}

}  // namespace

Result<Vocab> load_vocab(const gguf::GgufFile& file) {
  Vocab v;
  const std::optional<std::string> model = file.get_string(key("model"));
  if (!model) return make_error(key("model") + " is missing: the file carries no tokenizer");

  // Defaults per model kind, as llama.cpp sets them before reading the optional keys.
  if (*model == "llama") {
    v.model = TokenizerModel::kSentencePiece;
    v.bos = 1, v.eos = 2, v.unk = 0;
    v.add_space_prefix = true;
    v.add_bos = true;
  } else if (*model == "gpt2") {
    v.model = TokenizerModel::kBytePairEncoding;
    v.bos = 11, v.eos = 11;
  } else if (*model == "bert") {
    v.model = TokenizerModel::kWordPiece;
    v.bos = 101, v.unk = 100, v.sep = 102, v.pad = 0, v.mask = 103;
    v.add_bos = true;
    v.add_sep = true;
  } else {
    return make_error(key("model") + " is \"" + *model + "\"; supported tokenizers are llama (SentencePiece), " +
                      "gpt2 (byte-level BPE) and bert (WordPiece)");
  }

  auto texts = read_strings(file, key("tokens"));
  if (!texts) return make_error(texts.error());
  v.texts = std::move(texts).value();
  const size_t n = v.texts.size();
  if (n == 0) return make_error(key("tokens") + " is empty");
  if (n > static_cast<size_t>(INT32_MAX)) return make_error(key("tokens") + " has too many entries");

  v.scores.assign(n, 0.0f);
  if (const gguf::Array* scores = file.get_array(key("scores"))) {
    if (scores->items.size() != n) {
      return make_error(key("scores") + " has " + std::to_string(scores->items.size()) + " entries for " +
                        std::to_string(n) + " tokens");
    }
    for (size_t i = 0; i < n; ++i) v.scores[i] = static_cast<float>(scores->items[i].as_float().value_or(0.0));
  }
  v.attrs.assign(n, kAttrNormal);
  if (const gguf::Array* types = file.get_array(key("token_type"))) {
    if (types->items.size() != n) {
      return make_error(key("token_type") + " has " + std::to_string(types->items.size()) + " entries for " +
                        std::to_string(n) + " tokens");
    }
    for (size_t i = 0; i < n; ++i) v.attrs[i] = attr_from_type(types->items[i].as_int().value_or(1));
  }

  v.ids.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    if (v.texts[i].empty()) v.texts[i] = "[EMPTY_" + std::to_string(i) + "]";  // never matches text
    v.ids[v.texts[i]] = static_cast<int32_t>(i);
    v.max_token_length = std::max(v.max_token_length, v.texts[i].size());
  }

  if (v.model == TokenizerModel::kBytePairEncoding) {
    auto merges = read_strings(file, key("merges"));
    if (!merges) return make_error(merges.error() + " (byte-level BPE needs its merges)");
    v.merge_ranks.reserve(merges->size());
    for (size_t i = 0; i < merges->size(); ++i) v.merge_ranks.emplace(std::move((*merges)[i]), static_cast<int32_t>(i));

    const std::string pre_name = file.get_string(key("pre")).value_or("");
    std::optional<PreTokenizer> pre = find_pre_tokenizer(pre_name);
    if (!pre) {
      // As llama.cpp does: a new model family most often splits like one we know, and refusing
      // to load would be worse than a slightly different segmentation. Say so loudly.
      warn(key("pre") + " \"" + pre_name + "\" is not known; using the default pre-tokenizer, " +
           "token ids may differ from the model's own tokenizer");
      pre = find_pre_tokenizer("default");
    }
    v.pre = std::move(*pre);
    v.ignore_merges = v.pre.ignore_merges;
    if (v.pre.add_bos) v.add_bos = true;
    if (v.pre.no_bos) v.bos = -1;
  }

  if (auto b = file.get_bool(key("add_space_prefix"))) v.add_space_prefix = *b;

  // Special ids: a key overrides the default unless it is out of range (some files store
  // 0xFFFFFFFF for "none"; llama.cpp then keeps the default too).
  const auto read_id = [&](std::string_view name, int32_t& id) {
    if (auto value = file.get_int(key(name))) {
      if (*value >= 0 && static_cast<uint64_t>(*value) < n) id = static_cast<int32_t>(*value);
    }
  };
  int32_t fim_pad = -1, fim_rep = -1, fim_sep = -1;
  read_id("bos_token_id", v.bos);
  if (v.model == TokenizerModel::kWordPiece) read_id("cls_token_id", v.bos);
  read_id("eos_token_id", v.eos);
  read_id("eot_token_id", v.eot);
  read_id("eom_token_id", v.eom);
  read_id("unknown_token_id", v.unk);
  read_id("seperator_token_id", v.sep);  // sic: the GGUF key is misspelt
  read_id("padding_token_id", v.pad);
  read_id("mask_token_id", v.mask);
  read_id("fim_pad_token_id", fim_pad);
  read_id("fim_rep_token_id", fim_rep);
  read_id("fim_sep_token_id", fim_sep);
  for (int32_t* id : {&v.bos, &v.eos, &v.unk, &v.sep, &v.pad, &v.mask}) {
    if (!v.valid(*id)) *id = -1;  // a default beyond a small vocabulary
  }
  if (auto b = file.get_bool(key("add_bos_token"))) v.add_bos = *b;
  if (auto b = file.get_bool(key("add_eos_token"))) v.add_eos = *b;
  if (auto b = file.get_bool(key("add_sep_token"))) v.add_sep = *b;
  if (v.bos < 0) v.add_bos = false;
  if (v.eos < 0) v.add_eos = false;
  if (v.sep < 0) v.add_sep = false;

  // End-of-turn and end-of-generation tokens recognised by text; they become control tokens
  // (so that parse_special=false leaves "<|im_end|>" in user text alone).
  if (v.eot < 0) v.eot = find_any(v, kEotTexts);
  if (v.eot >= 0) mark_control(v, v.eot);
  if (v.eom < 0) v.eom = v.find("<|eom_id|>");
  if (v.eom >= 0) mark_control(v, v.eom);
  if (fim_pad < 0) fim_pad = find_any(v, kFimPadTexts);
  if (fim_rep < 0) fim_rep = find_any(v, kFimRepTexts);
  if (fim_sep < 0) fim_sep = find_any(v, kFimSepTexts);
  v.eog.assign(n, false);
  for (int32_t id : {fim_pad, fim_rep, fim_sep}) {
    if (id >= 0) {
      mark_control(v, id);
      v.eog[id] = true;
    }
  }
  for (size_t id = 0; id < n; ++id) {
    if (is_one_of(v.texts[id], kEogTexts)) {
      v.eog[id] = true;
      mark_control(v, static_cast<int32_t>(id));
    }
  }
  for (int32_t id : {v.eos, v.eot, v.eom}) {
    if (id >= 0) v.eog[id] = true;
  }

  for (size_t id = 0; id < n; ++id) {
    if (v.attrs[id] & (kAttrControl | kAttrUserDefined | kAttrUnknown)) {
      v.special_tokens.push_back(static_cast<int32_t>(id));
    }
  }
  std::stable_sort(v.special_tokens.begin(), v.special_tokens.end(),
                   [&](int32_t a, int32_t b) { return v.texts[a].size() > v.texts[b].size(); });

  // Strip attributes llama.cpp attaches by model name (they are not stored in GGUF).
  std::string model_name = file.get_string("general.name").value_or("");
  std::transform(model_name.begin(), model_name.end(), model_name.begin(),
                 [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; });
  const std::string pre_name = file.get_string(key("pre")).value_or("");
  const std::string arch = file.get_string("general.architecture").value_or("");
  constexpr std::string_view kJinaPre[] = {"jina-v2-de", "jina-v2-es", "jina-v2-code"};
  constexpr std::string_view kJinaArch[] = {"nomic-bert-moe", "jina-bert-v3"};
  if (is_one_of(pre_name, kJinaPre) || is_one_of(arch, kJinaArch)) {
    if (int32_t id = v.find("<mask>"); id >= 0) v.attrs[id] |= kAttrLstrip;
  } else if (model_name.find("phi-3") != std::string::npos || model_name.find("phi3") != std::string::npos) {
    for (int32_t id : v.special_tokens) v.attrs[id] |= kAttrRstrip;
    if (int32_t id = v.find("</s>"); id >= 0) v.attrs[id] |= kAttrRstrip;
    for (std::string_view text : {"<unk>", "<s>", "<|endoftext|>"}) {
      if (int32_t id = v.find(text); id >= 0) v.attrs[id] &= ~kAttrRstrip;
    }
  }

  for (size_t i = 0; i < v.special_tokens.size(); ++i) {
    const int32_t id = v.special_tokens[i];
    add_special(v.special_all, v.texts[id], id, static_cast<int32_t>(i));
    if (v.attrs[id] & kAttrUserDefined) add_special(v.special_user, v.texts[id], id, static_cast<int32_t>(i));
  }

  v.byte_ids.fill(-1);
  if (v.model == TokenizerModel::kSentencePiece) {
    static const char kHex[] = "0123456789ABCDEF";
    for (int b = 0; b < 256; ++b) {
      const char name[] = {'<', '0', 'x', kHex[b >> 4], kHex[b & 15], '>'};
      int32_t id = v.find(std::string_view(name, sizeof(name)));
      if (id < 0) id = v.find(std::string(1, static_cast<char>(b)));
      v.byte_ids[b] = id;
    }
  }
  return v;
}

}  // namespace tandem
