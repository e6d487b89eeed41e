// SPDX-License-Identifier: BSD-3-Clause
// The sign-in pages' cookies: the CSRF token (csrf.hpp) and a multi-step
// sign-in's conversation binding. The session cookie is sessions.cpp's.
#include "handler.hpp"

namespace zsso::cgi {

// Over HTTPS the CSRF cookie has the "__Host-" prefix: browsers then keep
// it only with Secure, Path=/ and no Domain, so no plain-HTTP page and no
// sibling subdomain can plant or overwrite it (what makes the unsigned
// double submit sound; csrf.hpp).
std::string Handler::csrf_cookie_name() const {
  std::string name = https_ ? "__Host-zsso_csrf" : "zsso_csrf";
  if (!route_.profile.empty()) name += "_" + route_.profile;
  return name;
}

std::string Handler::csrf_cookie(std::string_view value, std::int64_t max_age) const {
  std::string c = csrf_cookie_name() + "=" + std::string(value) + "; Path=" + (https_ ? "/" : route_url("login")) +
                  "; Max-Age=" + std::to_string(max_age) + "; HttpOnly; SameSite=Strict";
  if (https_) c += "; Secure";
  return c;
}

// The browser's half of a multi-step sign-in: the broker's conversation is
// bound to this cookie's value, the page carries the conversation id.
std::string Handler::conversation_cookie_name() const {
  return route_.profile.empty() ? "zsso_conv" : "zsso_conv_" + route_.profile;
}

std::string Handler::cookie(std::string_view name, std::string_view value, std::int64_t max_age) const {
  std::string c = std::string(name) + "=" + std::string(value) + "; Path=" + route_url("login") +
                  "; Max-Age=" + std::to_string(max_age) + "; HttpOnly; SameSite=Strict";
  if (req_.https) c += "; Secure";
  return c;
}

}  // namespace zsso::cgi
