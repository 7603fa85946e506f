#pragma once
// gzip for HTTP bodies (RFC 1952 via zlib): responses to clients that accept it, and request
// bodies sent with Content-Encoding: gzip. Decoding is bounded so that a small "zip bomb" cannot
// grow past the body limit.

#include <cstddef>
#include <string>
#include <string_view>

#include "core/result.h"

namespace tandem::http {

std::string gzip_compress(std::string_view data);

enum class GunzipError { kNone, kCorrupt, kTooLarge };
struct GunzipResult {
  std::string data;
  GunzipError error = GunzipError::kNone;
};
// Decodes one or more concatenated gzip members; stops with kTooLarge past max_bytes of output.
GunzipResult gzip_decompress(std::string_view data, size_t max_bytes);

// Whether an Accept-Encoding header value allows gzip ("gzip", "x-gzip" or "*", with q > 0).
bool accepts_gzip(std::string_view accept_encoding);

}  // namespace tandem::http
