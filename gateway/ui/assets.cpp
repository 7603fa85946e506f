#include "gateway/ui/assets.h"

#include <filesystem>
#include <fstream>
#include <sstream>

namespace tandem::gateway {
namespace {

bool plain_file_name(std::string_view name) {
  if (name.empty() || name.size() > 128 || name.front() == '.') return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                    c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

std::string_view page_url(std::string_view path) {
  if (path == "/") return "/ui/index.html";
  if (path == "/dashboard") return "/ui/dashboard.html";
  return path;
}

}  // namespace

const char kContentSecurityPolicy[] =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

std::string content_type_for(std::string_view path) {
  auto ends = [&](std::string_view ext) { return path.ends_with(ext); };
  if (ends(".html")) return "text/html; charset=utf-8";
  if (ends(".js")) return "text/javascript; charset=utf-8";
  if (ends(".css")) return "text/css; charset=utf-8";
  if (ends(".svg")) return "image/svg+xml";
  if (ends(".json")) return "application/json";
  return "application/octet-stream";
}

std::optional<std::string> UiAssets::read(std::string_view url) const {
  if (!root_.empty() && url.starts_with("/ui/")) {
    const std::string_view name = url.substr(4);
    if (!plain_file_name(name)) return std::nullopt;
    std::ifstream in(std::filesystem::path(root_) / std::string(name), std::ios::binary);
    if (!in) return std::nullopt;
    std::ostringstream data;
    data << in.rdbuf();
    return data.str();
  }
  for (const auto& a : embedded_assets()) {
    if (a.url == url) return std::string(a.data);
  }
  return std::nullopt;
}

std::optional<http::HttpResponse> UiAssets::get(std::string_view path) const {
  const std::string_view url = page_url(path);
  auto data = read(url);
  if (!data) return std::nullopt;
  http::HttpResponse r;
  r.content_type = content_type_for(url);
  r.body = std::move(*data);
  r.headers.emplace_back("Content-Security-Policy", kContentSecurityPolicy);
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  r.headers.emplace_back("X-Frame-Options", "DENY");
  r.headers.emplace_back("Referrer-Policy", "no-referrer");
  // The libraries change only with the binary; the page's own files are checked on each load so
  // an upgraded gateway is seen at once.
  r.headers.emplace_back("Cache-Control", url.starts_with("/lib/") ? "public, max-age=86400" : "no-cache");
  return r;
}

std::vector<std::string> UiAssets::urls() const {
  std::vector<std::string> out = {"/", "/dashboard"};
  for (const auto& a : embedded_assets()) out.emplace_back(a.url);
  if (!root_.empty()) {
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(root_, ec)) {
      const std::string name = entry.path().filename().string();
      if (entry.is_regular_file() && plain_file_name(name)) out.push_back("/ui/" + name);
    }
  }
  return out;
}

}  // namespace tandem::gateway
