// Byte-level BPE (GPT-2 style): pre-tokenize into words, write each word's bytes in GPT-2's
// printable byte alphabet, then repeatedly merge the adjacent pair with the lowest merge rank
// (leftmost on ties) until no pair is in the merge list.

#include <array>
#include <algorithm>
#include <queue>

#include "tokenizer/unicode.h"
#include "tokenizer/vocab.h"

namespace tandem {

namespace {

// GPT-2's bytes_to_unicode(): printable Latin-1 bytes stand for themselves, the other 68 bytes
// are moved to U+0100 and up, in byte order.
struct ByteAlphabet {
  std::array<std::string, 256> utf8;
  std::array<int16_t, 324> byte_of;  // code point (< 324) -> byte, -1 when unused

  ByteAlphabet() {
    byte_of.fill(-1);
    char32_t next = 256;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      const char32_t cp = printable ? static_cast<char32_t>(b) : next++;
      unicode::append_utf8(utf8[b], cp);
      byte_of[cp] = static_cast<int16_t>(b);
    }
  }
};

const ByteAlphabet& alphabet() {
  static const ByteAlphabet instance;
  return instance;
}

struct Symbol {
  uint32_t offset;
  uint32_t length;  // 0 once merged into its left neighbour
  int32_t prev;
  int32_t next;
};

struct Bigram {
  int32_t left;
  int32_t right;
  int32_t rank;
  uint32_t left_length;  // lengths when queued: symbols only grow, so a change means stale
  uint32_t right_length;
};

struct BigramOrder {
  bool operator()(const Bigram& a, const Bigram& b) const {
    return a.rank > b.rank || (a.rank == b.rank && a.left > b.left);
  }
};

void merge_word(const Vocab& vocab, const std::string& word, std::vector<int32_t>& out) {
  std::vector<Symbol> symbols;
  symbols.reserve(word.size());
  for (size_t offset = 0; offset < word.size();) {
    const size_t length = std::min(unicode::utf8_sequence_length(static_cast<uint8_t>(word[offset])),
                                   word.size() - offset);
    const auto index = static_cast<int32_t>(symbols.size());
    symbols.push_back({static_cast<uint32_t>(offset), static_cast<uint32_t>(length), index - 1,
                       offset + length == word.size() ? -1 : index + 1});
    offset += length;
  }

  std::priority_queue<Bigram, std::vector<Bigram>, BigramOrder> queue;
  std::string key;
  const auto try_add = [&](int32_t left, int32_t right) {
    if (left < 0 || right < 0) return;
    const Symbol& l = symbols[left];
    const Symbol& r = symbols[right];
    key.assign(word, l.offset, l.length);
    key += ' ';
    key.append(word, r.offset, r.length);
    auto it = vocab.merge_ranks.find(key);
    if (it == vocab.merge_ranks.end()) return;
    queue.push({left, right, it->second, l.length, r.length});
  };
  for (size_t i = 1; i < symbols.size(); ++i) try_add(static_cast<int32_t>(i - 1), static_cast<int32_t>(i));

  while (!queue.empty()) {
    const Bigram bigram = queue.top();
    queue.pop();
    Symbol& left = symbols[bigram.left];
    Symbol& right = symbols[bigram.right];
    if (left.length != bigram.left_length || right.length != bigram.right_length || right.length == 0) continue;
    left.length += right.length;
    right.length = 0;
    left.next = right.next;
    if (right.next >= 0) symbols[right.next].prev = bigram.left;
    try_add(left.prev, bigram.left);
    try_add(bigram.left, left.next);
  }

  for (int32_t i = 0; i != -1; i = symbols[i].next) {
    const std::string_view piece = std::string_view(word).substr(symbols[i].offset, symbols[i].length);
    if (const int32_t id = vocab.find(piece); id >= 0) {
      out.push_back(id);
      continue;
    }
    // Not in the vocabulary (an incomplete vocabulary): fall back to its single characters.
    for (size_t pos = 0; pos < piece.size();) {
      const size_t length = std::min(unicode::utf8_sequence_length(static_cast<uint8_t>(piece[pos])),
                                     piece.size() - pos);
      const int32_t id = vocab.find(piece.substr(pos, length));
      if (id >= 0) {
        out.push_back(id);
      } else if (vocab.unk >= 0) {
        out.push_back(vocab.unk);
      }
      pos += length;
    }
  }
}

}  // namespace

const std::string& byte_to_unicode(uint8_t byte) { return alphabet().utf8[byte]; }

int byte_from_unicode(char32_t cp) { return cp < alphabet().byte_of.size() ? alphabet().byte_of[cp] : -1; }

void bpe_tokenize(const Vocab& vocab, std::string_view text, std::vector<int32_t>& out) {
  const ByteAlphabet& bytes = alphabet();
  std::string word;
  for (const auto& [begin, end] : pre_tokenize(vocab.pre, text)) {
    word.clear();
    for (uint32_t i = begin; i < end; ++i) word += bytes.utf8[static_cast<uint8_t>(text[i])];
    if (vocab.ignore_merges) {
      if (const int32_t id = vocab.find(word); id >= 0) {
        out.push_back(id);
        continue;
      }
    }
    merge_word(vocab, word, out);
  }
}

}  // namespace tandem
