#include "tools/bench/prompt_source.h"

#include <algorithm>
#include <sstream>

namespace tandem::bench {
namespace {

// Plain prose written for this tool, so that it carries no licence of its own.
constexpr const char* kBuiltinText =
    "The harbour town woke before the sun. Fishermen carried nets down to the boats, and the baker "
    "on the corner opened his shutters to let the smell of bread into the street. A girl named Ada "
    "walked along the quay with a notebook under her arm, counting the masts and writing down the "
    "names painted on each hull. Her grandfather had told her that every boat remembers the storms "
    "it has crossed, and she wanted to know which of them had seen the great gale of the winter "
    "before. The harbour master, a tall man with a grey beard, watched her from his window and "
    "smiled. He remembered being curious once, before the ledgers and the tide tables filled his "
    "days. When the bells of the church rang seven, the first boat slipped its rope and turned "
    "towards the open water, its engine coughing in the cold air. Gulls followed it out past the "
    "lighthouse, where the waves broke white against the rocks. Ada wrote the time in her notebook, "
    "then the wind, then the colour of the sky, which was pale yellow turning to blue. Later that "
    "morning she would visit the library and look for the old newspapers, the ones with pictures of "
    "the harbour under snow, and she would compare the names. Some boats had been sold, some had "
    "sunk, and a few had simply been painted a new colour and given a new name, as if they could "
    "forget the sea. She decided that a boat with a new name was still the same boat, in the way "
    "that a person who moves to a new town is still the same person, and she wrote that down too.";

std::vector<std::string> split_words(const std::string& text) {
  std::vector<std::string> words;
  std::istringstream in(text);
  for (std::string word; in >> word;) words.push_back(word);
  return words;
}

}  // namespace

PromptSource::PromptSource() : words_(split_words(kBuiltinText)) {}

Result<PromptSource> PromptSource::from_text(const std::string& text, const std::string& what) {
  auto words = split_words(text);
  if (words.empty()) return make_error(what + " holds no words; give a text file for --prompt-file");
  return PromptSource(std::move(words));
}

std::string PromptSource::prompt(int n_words, size_t index) const {
  // A stride coprime with most text lengths spreads the starting points over the whole text.
  constexpr size_t kStride = 37;
  const size_t start = (index * kStride) % words_.size();
  std::string out;
  for (int i = 0; i < std::max(n_words, 1); ++i) {
    if (i) out += ' ';
    out += words_[(start + static_cast<size_t>(i)) % words_.size()];
  }
  return out;
}

}  // namespace tandem::bench
