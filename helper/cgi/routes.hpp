// SPDX-License-Identifier: BSD-3-Clause
// What the CGI does with a request: /login[/PROFILE] (GET form, POST sign-in),
// /logout[/PROFILE] and /health (load balancers); everything else is 404,
// other methods 405.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "request.hpp"
#include "response.hpp"
#include "zsso/config.hpp"
#include "zsso/result.hpp"

namespace zsso::cgi {

struct Route {
  enum class Kind { none, login, logout, health, metrics, keys };
  Kind kind = Kind::none;
  std::string profile;   // "" = the base config
};

// "/login", "/login/NAME", "/logout", "/logout/NAME", "/keys", "/keys/NAME" (NAME: letters, digits,
// '-', '_'), "/health".
Route match_route(std::string_view path_info);

// Everything outside the request that steers it.
struct Environment {
  std::string config_path;        // ZENDESK_SSO_CONFIG or the default
  std::string endpoint_override;  // ZENDESK_SSO_ENDPOINT_OVERRIDE (tests/demo only)
  std::string request_id;
  std::int64_t now = 0;
  int body_fd = 0;                // stdin
};

// The endpoint a loopback stand-in serves: "http://127.0.0.1:PORT" (or
// [::1] / localhost, http or https, no path) + "/access/jwt". Anything else
// is refused so a stray variable can never send tokens off the host.
Result<std::string> loopback_endpoint(std::string_view base);

Response handle_request(Request& req, const Environment& env);

}  // namespace zsso::cgi
