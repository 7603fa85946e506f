#pragma once
// The web UI's files: embedded in the binary at build time (embed_assets.cmake) or, with the
// ui.root option, read from a folder at each request so the page can be edited without a rebuild
// (the libraries always come from the binary). URLs: /ui/<file> for web/'s files, /lib/<file> for
// the libraries; "/" is /ui/index.html and "/dashboard" is /ui/dashboard.html.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "http/http_message.h"

namespace tandem::gateway {

struct EmbeddedAsset {
  std::string_view url;   // "/ui/chat.js", "/lib/marked.min.js"
  std::string_view data;
};

const std::vector<EmbeddedAsset>& embedded_assets();

// The Content-Security-Policy of every page and asset: scripts and styles from the gateway only,
// no inline scripts, no plugins, no framing, fetches to the gateway only.
extern const char kContentSecurityPolicy[];

// "text/javascript; charset=utf-8" for "x.js", and so on; "application/octet-stream" otherwise.
std::string content_type_for(std::string_view path);

class UiAssets {
 public:
  // `root` = "" serves the embedded files.
  explicit UiAssets(std::string root) : root_(std::move(root)) {}

  // The response for a GET of `path`, or nullopt when the UI has no such file.
  std::optional<http::HttpResponse> get(std::string_view path) const;
  // Every URL the UI answers, so the server can let them through without an API key (the page
  // itself asks for the key).
  std::vector<std::string> urls() const;

 private:
  std::optional<std::string> read(std::string_view url) const;
  std::string root_;
};

}  // namespace tandem::gateway
