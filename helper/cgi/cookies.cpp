// SPDX-License-Identifier: BSD-3-Clause
// The sign-in pages' cookies: the CSRF token (csrf.hpp) and a multi-step
// sign-in's conversation binding. The session cookie is sessions.cpp's.
#include "handler.hpp"

namespace zsso::cgi {

namespace {

constexpr std::string_view kCsrfCookie = "zsso_csrf";
constexpr std::string_view kConversationCookie = "zsso_conv";

}  // namespace

// Served over HTTPS (here or at a trusted TLS-terminating proxy), both have
// the "__Host-" prefix: browsers then keep them only with Secure, Path=/ and
// no Domain, so no plain-HTTP page and no sibling subdomain can plant or
// overwrite one (what makes the unsigned double submit sound, csrf.hpp, and
// keeps a sibling host from breaking a conversation). Over plain HTTP the
// bare name, on the login path. A profile's end in "_PROFILE".
std::string Handler::form_cookie_name(std::string_view base) const {
  std::string name = (https_ ? "__Host-" : "") + std::string(base);
  // The "Security keys" page's own pair: a sign-in in another tab keeps its own.
  if (enrolling()) name += "-keys";
  if (!route_.profile.empty()) name += "_" + route_.profile;
  return name;
}

std::string Handler::form_cookie(std::string_view base, std::string_view value, std::int64_t max_age) const {
  std::string c = form_cookie_name(base) + "=" + std::string(value) + "; Path=" + (https_ ? "/" : form_url()) +
                  "; Max-Age=" + std::to_string(max_age) + "; HttpOnly; SameSite=Strict";
  if (https_) c += "; Secure";
  return c;
}

std::string Handler::csrf_cookie_name() const { return form_cookie_name(kCsrfCookie); }

std::string Handler::csrf_cookie(std::string_view value, std::int64_t max_age) const {
  return form_cookie(kCsrfCookie, value, max_age);
}

// The browser's half of a multi-step sign-in: the broker's conversation is
// bound to this cookie's value, the page carries the conversation id.
std::string Handler::conversation_cookie_name() const { return form_cookie_name(kConversationCookie); }

std::string Handler::conversation_cookie(std::string_view value, std::int64_t max_age) const {
  return form_cookie(kConversationCookie, value, max_age);
}

}  // namespace zsso::cgi
