#include "http/gzip.h"

#include <zlib.h>

#include <cstdlib>

#include "http/http_message.h"

namespace tandem::http {
namespace {

// windowBits 15 + 16 selects the gzip wrapper (RFC 1952) instead of raw zlib.
constexpr int kGzipWindowBits = 15 + 16;

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::string gzip_compress(std::string_view data) {
  z_stream zs{};
  // Level 5: most of level 9's ratio on JSON at a fraction of the time.
  const int init = deflateInit2(&zs, 5, Z_DEFLATED, kGzipWindowBits, 8, Z_DEFAULT_STRATEGY);
  TANDEM_CHECK(init == Z_OK);
  std::string out;
  out.resize(deflateBound(&zs, static_cast<uLong>(data.size())));
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&zs, Z_FINISH);
  TANDEM_CHECK(rc == Z_STREAM_END);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

GunzipResult gzip_decompress(std::string_view data, size_t max_bytes) {
  GunzipResult result;
  z_stream zs{};
  if (inflateInit2(&zs, kGzipWindowBits) != Z_OK) {
    result.error = GunzipError::kCorrupt;
    return result;
  }
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  char chunk[16384];
  while (true) {
    zs.next_out = reinterpret_cast<Bytef*>(chunk);
    zs.avail_out = sizeof(chunk);
    const int rc = inflate(&zs, Z_NO_FLUSH);
    const size_t produced = sizeof(chunk) - zs.avail_out;
    if (result.data.size() + produced > max_bytes) {
      result.error = GunzipError::kTooLarge;
      break;
    }
    result.data.append(chunk, produced);
    if (rc == Z_STREAM_END) {
      if (zs.avail_in == 0) break;
      // Another member follows (RFC 1952 allows concatenation).
      if (inflateReset(&zs) != Z_OK) {
        result.error = GunzipError::kCorrupt;
        break;
      }
      continue;
    }
    if (rc != Z_OK || (zs.avail_in == 0 && produced == 0)) {
      // Z_BUF_ERROR with no input left means the stream was cut short.
      result.error = GunzipError::kCorrupt;
      break;
    }
  }
  inflateEnd(&zs);
  if (result.error != GunzipError::kNone) result.data.clear();
  return result;
}

bool accepts_gzip(std::string_view header) {
  bool star = false;
  bool gzip = false;
  bool gzip_listed = false;
  while (!header.empty()) {
    const size_t comma = header.find(',');
    std::string_view item = trim(header.substr(0, comma));
    header = comma == std::string_view::npos ? std::string_view() : header.substr(comma + 1);
    const size_t semi = item.find(';');
    const std::string coding = to_lower(trim(item.substr(0, semi)));
    double q = 1.0;
    if (semi != std::string_view::npos) {
      std::string_view params = trim(item.substr(semi + 1));
      if (params.size() > 2 && (params[0] == 'q' || params[0] == 'Q') && params[1] == '=') {
        q = std::strtod(std::string(params.substr(2)).c_str(), nullptr);
      }
    }
    if (coding == "gzip" || coding == "x-gzip") {
      gzip_listed = true;
      gzip = q > 0;
    } else if (coding == "*") {
      star = q > 0;
    }
  }
  return gzip_listed ? gzip : star;
}

}  // namespace tandem::http
