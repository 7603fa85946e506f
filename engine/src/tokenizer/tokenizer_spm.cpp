// SentencePiece (BPE flavour) as llama.cpp runs it from GGUF: start from UTF-8 characters and
// repeatedly merge the adjacent pair whose concatenation is the token with the highest score
// (leftmost on ties); what is left and is not a token falls back to <0xXX> byte tokens.

#include <algorithm>
#include <queue>

#include "tokenizer/unicode.h"
#include "tokenizer/vocab.h"

namespace tandem {

namespace {

struct Symbol {
  uint32_t offset;  // into the text
  uint32_t length;  // 0 once merged into its left neighbour
  int32_t prev;
  int32_t next;
};

struct Bigram {
  int32_t left;
  int32_t right;
  float score;
  uint32_t length;  // left + right at the time it was queued: a stale entry no longer adds up
};

struct BigramOrder {
  bool operator()(const Bigram& a, const Bigram& b) const {
    return a.score < b.score || (a.score == b.score && a.left > b.left);
  }
};

}  // namespace

void spm_tokenize(const Vocab& vocab, std::string_view text, std::vector<int32_t>& out) {
  if (text.empty()) return;
  std::vector<Symbol> symbols;
  symbols.reserve(text.size());
  for (size_t offset = 0; offset < text.size();) {
    // A malformed byte is a symbol of its own (llama.cpp cuts by the lead byte alone, which can
    // swallow the start of the next character); byte fallback then keeps it intact.
    const size_t length = unicode::decode_one(text, offset).length;
    const auto index = static_cast<int32_t>(symbols.size());
    symbols.push_back({static_cast<uint32_t>(offset), static_cast<uint32_t>(length), index - 1,
                       offset + length == text.size() ? -1 : index + 1});
    offset += length;
  }

  std::priority_queue<Bigram, std::vector<Bigram>, BigramOrder> queue;
  const auto try_add = [&](int32_t left, int32_t right) {
    if (left < 0 || right < 0) return;
    const uint32_t length = symbols[left].length + symbols[right].length;
    const int32_t id = vocab.find(text.substr(symbols[left].offset, length));
    if (id < 0) return;
    queue.push({left, right, vocab.scores[id], length});
  };
  for (size_t i = 1; i < symbols.size(); ++i) try_add(static_cast<int32_t>(i - 1), static_cast<int32_t>(i));

  while (!queue.empty()) {
    const Bigram bigram = queue.top();
    queue.pop();
    Symbol& left = symbols[bigram.left];
    Symbol& right = symbols[bigram.right];
    if (left.length == 0 || right.length == 0 || left.length + right.length != bigram.length) continue;
    left.length += right.length;
    right.length = 0;
    left.next = right.next;
    if (right.next >= 0) symbols[right.next].prev = bigram.left;
    try_add(left.prev, bigram.left);
    try_add(bigram.left, left.next);
  }

  for (int32_t i = 0; i != -1; i = symbols[i].next) {
    const Symbol& symbol = symbols[i];
    const std::string_view piece = text.substr(symbol.offset, symbol.length);
    if (const int32_t id = vocab.find(piece); id >= 0) {
      out.push_back(id);
      continue;
    }
    for (char c : piece) {
      const int32_t id = vocab.byte_ids[static_cast<uint8_t>(c)];
      if (id >= 0) {
        out.push_back(id);
      } else if (vocab.unk >= 0) {
        out.push_back(vocab.unk);
      }
    }
  }
}

}  // namespace tandem
