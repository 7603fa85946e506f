// Tokenizer: special-token partitioning, dispatch to the segmentation algorithm, and decoding.
//
// Where this deliberately differs from llama.cpp:
//  - Invalid UTF-8 in the input is kept byte for byte (byte-level BPE and SentencePiece byte
//    fallback represent any byte) instead of being replaced by U+FFFD, so decode(encode(x)) == x
//    holds for any bytes with those vocabularies. WordPiece drops invalid bytes.
//  - decode() joins pieces without llama.cpp's optional "clean up tokenization spaces" pass and
//    strips the SentencePiece space prefix from the first piece that has text.
//  - An unknown `tokenizer.ggml.pre` falls back to the default pre-tokenizer with a warning on
//    stderr (as current llama.cpp does) rather than refusing the model.

#include "tokenizer/tokenizer.h"

#include <algorithm>
#include <map>

#include "gguf/gguf_reader.h"
#include "tokenizer/unicode.h"
#include "tokenizer/vocab.h"

namespace tandem {

namespace {

constexpr std::string_view kSpaceMarker = "\xE2\x96\x81";  // "▁", SentencePiece's visible space

// A run of raw text [begin, end) of the input, or a special token matched in it.
struct Fragment {
  int32_t token;  // -1 for raw text
  size_t begin;
  size_t end;
};

bool is_ascii_space(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

// Cuts `text` at special tokens with llama.cpp's semantics (tokenizer_st_partition): tokens are
// taken in priority order (longest text first), each claiming its occurrences left to right that
// still lie wholly inside raw text. Strip attributes eat ASCII white space beside a match.
// True when [begin, end) overlaps one of `plain` (sorted, disjoint).
bool overlaps(std::span<const TextRange> plain, size_t begin, size_t end) {
  auto it = std::upper_bound(plain.begin(), plain.end(), begin,
                             [](size_t pos, const TextRange& r) { return pos < r.end; });
  return it != plain.end() && it->begin < end;
}

// `plain`: ranges where only user-defined tokens may match (see Tokenizer::encode).
std::vector<Fragment> partition(const Vocab& vocab, std::string_view text, bool parse_special,
                                std::span<const TextRange> plain = {}) {
  const SpecialMatcher& matcher = parse_special ? vocab.special_all : vocab.special_user;
  struct Occurrence {
    int32_t priority;
    int32_t id;
    size_t begin;
    size_t end;
  };
  std::vector<Occurrence> found;
  for (size_t pos = 0; pos < text.size(); ++pos) {
    for (uint32_t length : matcher.lengths[static_cast<uint8_t>(text[pos])]) {
      if (length > text.size() - pos) continue;
      auto it = matcher.by_text.find(text.substr(pos, length));
      if (it == matcher.by_text.end()) continue;
      if (!plain.empty() && !(vocab.attrs[it->second.id] & kAttrUserDefined) && overlaps(plain, pos, pos + length)) {
        continue;
      }
      found.push_back({it->second.priority, it->second.id, pos, pos + length});
    }
  }
  if (found.empty()) return {Fragment{-1, 0, text.size()}};
  // Order by priority, then position: a counting sort, since `found` is already by position and
  // a long run of one character can yield millions of overlapping candidates.
  std::vector<uint32_t> starts(vocab.special_tokens.size() + 1, 0);
  for (const Occurrence& occ : found) ++starts[occ.priority + 1];
  for (size_t i = 1; i < starts.size(); ++i) starts[i] += starts[i - 1];
  std::vector<Occurrence> ordered(found.size());
  for (const Occurrence& occ : found) ordered[starts[occ.priority]++] = occ;

  // Fragments keyed by their start; stripped white space simply has no fragment. `claimed` marks
  // bytes no longer raw, to turn most overlapping candidates away without a map look-up.
  std::map<size_t, Fragment> fragments;
  fragments.emplace(0, Fragment{-1, 0, text.size()});
  std::vector<uint8_t> claimed(text.size(), 0);
  for (const Occurrence& occ : ordered) {
    if (claimed[occ.begin] || claimed[occ.end - 1]) continue;
    auto it = fragments.upper_bound(occ.begin);
    if (it == fragments.begin()) continue;
    --it;
    const Fragment raw = it->second;
    if (raw.token >= 0 || occ.end > raw.end) continue;
    fragments.erase(it);
    size_t left_end = occ.begin;
    if (vocab.attrs[occ.id] & kAttrLstrip) {
      while (left_end > raw.begin && is_ascii_space(text[left_end - 1])) --left_end;
    }
    size_t right_begin = occ.end;
    if (vocab.attrs[occ.id] & kAttrRstrip) {
      while (right_begin < raw.end && is_ascii_space(text[right_begin])) ++right_begin;
    }
    std::fill(claimed.begin() + static_cast<std::ptrdiff_t>(left_end),
              claimed.begin() + static_cast<std::ptrdiff_t>(right_begin), 1);
    if (left_end > raw.begin) fragments.emplace(raw.begin, Fragment{-1, raw.begin, left_end});
    fragments.emplace(occ.begin, Fragment{occ.id, occ.begin, occ.end});
    if (right_begin < raw.end) fragments.emplace(right_begin, Fragment{-1, right_begin, raw.end});
  }
  std::vector<Fragment> out;
  out.reserve(fragments.size());
  for (const auto& [begin, fragment] : fragments) out.push_back(fragment);
  return out;
}

std::string escape_spaces(std::string_view text, bool space_prefix) {
  std::string out;
  out.reserve(text.size() + 8);
  if (space_prefix) out += kSpaceMarker;
  for (char c : text) {
    if (c == ' ') {
      out += kSpaceMarker;
    } else {
      out += c;
    }
  }
  return out;
}

std::string unescape_spaces(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (size_t pos = 0; pos < text.size();) {
    if (text.compare(pos, kSpaceMarker.size(), kSpaceMarker) == 0) {
      out += ' ';
      pos += kSpaceMarker.size();
    } else {
      out += text[pos++];
    }
  }
  return out;
}

// Byte-level BPE token text back to bytes; a code point outside the alphabet is kept as it is.
std::string decode_byte_level(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t pos = 0; pos < text.size();) {
    const unicode::Decoded d = unicode::decode_one(text, pos);
    const int byte = d.valid ? byte_from_unicode(d.cp) : -1;
    if (byte >= 0) {
      out += static_cast<char>(byte);
    } else {
      out.append(text.substr(pos, d.length));
    }
    pos += d.length;
  }
  return out;
}

uint8_t parse_byte_token(const std::string& text) {
  // "<0xXX>"
  const auto hex = [](char c) { return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10; };
  if (text.size() == 6 && text.compare(0, 3, "<0x") == 0) {
    return static_cast<uint8_t>(hex(text[3]) * 16 + hex(text[4]));
  }
  return text.empty() ? 0 : static_cast<uint8_t>(text[0]);
}

const std::string kEmpty;

}  // namespace

Result<Tokenizer> Tokenizer::from_gguf(const gguf::GgufFile& file) {
  auto vocab = load_vocab(file);
  if (!vocab) return make_error(vocab.error());
  return Tokenizer(std::make_shared<const Vocab>(std::move(vocab).value()));
}

// Token ids for `text` cut into raw text and special tokens (below).
std::vector<int32_t> encode_fragments(const Vocab& v, std::string_view text, bool add_special,
                                      const std::vector<Fragment>& fragments);

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool add_special, bool parse_special) const {
  return encode_fragments(*vocab_, text, add_special,
                          text.empty() ? std::vector<Fragment>{} : partition(*vocab_, text, parse_special));
}

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool add_special, std::span<const TextRange> plain) const {
  return encode_fragments(*vocab_, text, add_special,
                          text.empty() ? std::vector<Fragment>{} : partition(*vocab_, text, true, plain));
}

std::vector<TextRange> Tokenizer::find_control_tokens(std::string_view text) const {
  const SpecialMatcher& matcher = vocab_->special_all;
  std::vector<TextRange> found;
  for (size_t pos = 0; pos < text.size();) {
    size_t matched = 0;
    for (uint32_t length : matcher.lengths[static_cast<uint8_t>(text[pos])]) {  // longest first
      if (length > text.size() - pos) continue;
      auto it = matcher.by_text.find(text.substr(pos, length));
      if (it != matcher.by_text.end() && !(vocab_->attrs[it->second.id] & kAttrUserDefined)) {
        matched = length;
        break;
      }
    }
    if (matched > 0) {
      found.push_back({pos, pos + matched});
      pos += matched;
    } else {
      ++pos;
    }
  }
  return found;
}

std::vector<int32_t> encode_fragments(const Vocab& v, std::string_view text, bool add_special,
                                      const std::vector<Fragment>& fragments) {
  std::vector<int32_t> out;
  out.reserve(text.size() / 3 + 4);

  if (add_special && v.add_bos && v.bos >= 0) out.push_back(v.bos);
  bool prev_special = true;  // SentencePiece: a space prefix before the first word and after a special token
  for (const Fragment& f : fragments) {
    if (f.token >= 0) {
      out.push_back(f.token);
      prev_special = true;
      continue;
    }
    const std::string_view piece = text.substr(f.begin, f.end - f.begin);
    switch (v.model) {
      case TokenizerModel::kSentencePiece:
        spm_tokenize(v, escape_spaces(piece, v.add_space_prefix && prev_special), out);
        break;
      case TokenizerModel::kBytePairEncoding: bpe_tokenize(v, piece, out); break;
      case TokenizerModel::kWordPiece: wpm_tokenize(v, piece, out); break;
    }
    prev_special = false;
  }
  if (add_special && v.add_eos && v.eos >= 0) out.push_back(v.eos);
  if (add_special && v.add_sep && v.sep >= 0) out.push_back(v.sep);
  return out;
}

std::string Tokenizer::token_to_piece(int32_t id, bool render_special) const {
  const Vocab& v = *vocab_;
  if (!v.valid(id)) return {};
  const uint32_t attr = v.attrs[id];
  const std::string& text = v.texts[id];
  if (attr & (kAttrControl | kAttrUnknown)) return render_special ? text : std::string();
  if (attr & kAttrUserDefined) return text;
  if (attr & kAttrByte) {
    if (v.model == TokenizerModel::kBytePairEncoding) return decode_byte_level(text);
    return std::string(1, static_cast<char>(parse_byte_token(text)));
  }
  if (attr & kAttrNormal) {
    if (v.model == TokenizerModel::kBytePairEncoding) return decode_byte_level(text);
    return unescape_spaces(text);
  }
  return {};  // unused and undefined tokens have no text, as in llama.cpp
}

std::string Tokenizer::decode(std::span<const int32_t> ids, bool render_special) const {
  const Vocab& v = *vocab_;
  std::string out;
  bool strip_space = (v.model == TokenizerModel::kSentencePiece && v.add_space_prefix) ||
                     v.model == TokenizerModel::kWordPiece;
  for (int32_t id : ids) {
    std::string piece = token_to_piece(id, render_special);
    if (piece.empty()) continue;
    if (strip_space && piece[0] == ' ') piece.erase(0, 1);
    strip_space = false;
    out += piece;
  }
  return out;
}

int32_t Tokenizer::n_vocab() const { return static_cast<int32_t>(vocab_->texts.size()); }
int32_t Tokenizer::bos_id() const { return vocab_->bos; }
int32_t Tokenizer::eos_id() const { return vocab_->eos; }
int32_t Tokenizer::eot_id() const { return vocab_->eot; }
int32_t Tokenizer::unk_id() const { return vocab_->unk; }
int32_t Tokenizer::pad_id() const { return vocab_->pad; }
int32_t Tokenizer::sep_id() const { return vocab_->sep; }
bool Tokenizer::add_bos() const { return vocab_->add_bos; }
bool Tokenizer::add_eos() const { return vocab_->add_eos; }
TokenizerModel Tokenizer::model() const { return vocab_->model; }
const std::string& Tokenizer::pre_tokenizer_name() const { return vocab_->pre.name; }

bool Tokenizer::is_end_of_generation(int32_t id) const { return vocab_->valid(id) && vocab_->eog[id]; }
bool Tokenizer::is_control(int32_t id) const { return vocab_->has_attr(id, kAttrControl); }
bool Tokenizer::is_byte(int32_t id) const { return vocab_->has_attr(id, kAttrByte); }

const std::string& Tokenizer::token_text(int32_t id) const {
  return vocab_->valid(id) ? vocab_->texts[id] : kEmpty;
}

std::optional<int32_t> Tokenizer::find_token(std::string_view text) const {
  const int32_t id = vocab_->find(text);
  if (id < 0) return std::nullopt;
  return id;
}

}  // namespace tandem
