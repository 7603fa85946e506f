#pragma once
// The one declaration of every `tandem gateway` option (gateway_options.cpp), on the option-table
// machinery that `tandem serve` uses: the JSON file, the CLI flags, --help and the messages all
// come from it. Unlike serve, an unknown key is an error, and the links are checked item by item
// with the field named ("links[1].url").

#include <string>
#include <string_view>
#include <vector>

#include "config/option_loader.h"
#include "gateway/config/gateway_config.h"

namespace tandem::gateway {

using GatewayOptionSpec = config::OptionSpecT<GatewayConfig>;
using LoadedGatewayConfig = config::LoadedConfigT<GatewayConfig>;

const std::vector<GatewayOptionSpec>& gateway_option_table();
const config::OptionSchema<GatewayConfig>& gateway_schema();

GatewayConfig default_gateway_config();

// `json_text` is the file's contents ("" = no file); `source` names it in messages.
LoadedGatewayConfig load_gateway_config(std::string_view json_text, std::string_view source,
                                        const std::vector<config::Override>& overrides = {});
LoadedGatewayConfig load_gateway_config_file(const std::string& path,
                                             const std::vector<config::Override>& overrides = {});

// Splits "http://host:port/prefix" into the link's host, port and base path; the error says what
// is wrong and the fix.
Status parse_link_url(const std::string& url, LinkConfig& link);

}  // namespace tandem::gateway
