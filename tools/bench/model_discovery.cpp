#include "tools/bench/model_discovery.h"

#include <boost/beast/http/field.hpp>
#include <boost/beast/http/verb.hpp>
#include <nlohmann/json.hpp>

#include "tools/bench/http_connection.h"

namespace tandem::bench {
namespace http = boost::beast::http;

Result<std::string> first_model_id(const TargetUrl& target, const std::string& api_key, double timeout_s) {
  const std::string where = "GET http://" + target.host_header() + target.base_path + "/v1/models";
  http::request<http::string_body> request{http::verb::get, target.base_path + "/v1/models", 11};
  request.set(http::field::host, target.host_header());
  request.set(http::field::user_agent, "tandem-bench");
  if (!api_key.empty()) request.set(http::field::authorization, "Bearer " + api_key);
  HttpConnection connection(target);
  std::string body;
  const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(timeout_s));
  const ExchangeResult result = connection.exchange(
      request, deadline, [](int, std::string_view) {},
      [&](std::string_view piece) {
        if (body.size() < (4u << 20)) body.append(piece);
      });
  if (result.failure != ExchangeFailure::kNone) {
    return make_error(where + " failed: " + result.detail + "; check --url, or give --model");
  }
  if (result.status != 200) {
    return make_error(where + " answered " + std::to_string(result.status) +
                      (result.status == 401 ? "; give the server's key with --api-key" : "; give --model"));
  }
  const auto json = nlohmann::json::parse(body, nullptr, false);
  if (json.is_object()) {
    const auto data = json.find("data");
    if (data != json.end() && data->is_array() && !data->empty() && (*data)[0].is_object()) {
      const auto id = (*data)[0].find("id");
      if (id != (*data)[0].end() && id->is_string()) return id->get<std::string>();
    }
  }
  return make_error(where + " did not list a model (no data[0].id); give --model");
}

}  // namespace tandem::bench
