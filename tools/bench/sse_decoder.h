#pragma once
// Server-sent events (the WHATWG EventSource format) from a response body that arrives in pieces:
// feed() whatever bytes came, get back the data of every event that those bytes completed. Beast
// has already removed the HTTP chunking; this splits the event stream that is carried inside.

#include <string>
#include <string_view>
#include <vector>

namespace tandem::bench {

class SseDecoder {
 public:
  // The `data` of each event completed by `bytes` (several data lines joined by "\n"); comments,
  // and events without data, are skipped.
  std::vector<std::string> feed(std::string_view bytes);
  // True when a partial line or event is waiting for more bytes.
  bool has_partial() const { return !line_.empty() || has_data_; }

 private:
  void end_line(std::vector<std::string>& events);

  std::string line_;
  std::string data_;
  bool has_data_ = false;
  bool last_was_cr_ = false;
};

}  // namespace tandem::bench
