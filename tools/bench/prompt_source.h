#pragma once
// The prompts the bench sends: about P tokens each, cut from a built-in text or from a file. The
// bench cannot tokenize for a remote model, so it counts words (whitespace-separated), which for
// English is close to one token each; each request starts at a different word so that no two
// prompts share a long prefix (a server's prefix cache would otherwise flatter it).

#include <string>
#include <vector>

#include "core/result.h"

namespace tandem::bench {

class PromptSource {
 public:
  // The built-in text.
  PromptSource();
  // The words of `text`; an error when it holds none.
  static Result<PromptSource> from_text(const std::string& text, const std::string& what);

  // `n_words` words (at least 1), starting at word `index * stride` of the text, wrapping around.
  std::string prompt(int n_words, size_t index) const;
  size_t word_count() const { return words_.size(); }

 private:
  explicit PromptSource(std::vector<std::string> words) : words_(std::move(words)) {}
  std::vector<std::string> words_;
};

}  // namespace tandem::bench
