// SPDX-License-Identifier: BSD-3-Clause
// Stateless CSRF protection: a signed double-submit token.
//
//   key   = HMAC-SHA256(secret, "zendesk-sso csrf v1")   secret: the Zendesk
//           secret, or helper.csrf_key_file in broker mode
//   raw   = 16 random bytes || issue time (8 bytes, big-endian seconds)
//   token = base64url(raw || HMAC-SHA256(key, raw))
//
// The same token goes in a cookie and a hidden form field; a POST is accepted
// when both are present, equal, correctly signed and younger than the
// lifetime. No server-side state, so any number of hosts share it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "zsso/config.hpp"
#include "zsso/jwt.hpp"
#include "zsso/result.hpp"

namespace zsso::cgi {

inline constexpr std::int64_t kCsrfLifetimeSeconds = 600;
inline constexpr std::int64_t kCsrfFutureSkewSeconds = 60;   // hosts behind a balancer disagree a little

enum class CsrfCheck { ok, missing, mismatch, forged, expired };
const char* to_string(CsrfCheck c);

class CsrfKey {
 public:
  // Derives the key from helper.csrf_key_file when set, else the Zendesk secret.
  static Result<CsrfKey> from_config(const Config& cfg);
  static Result<CsrfKey> from_secret(const Secret& secret);

  Result<std::string> issue(std::int64_t now);
  // Both halves of the double submit: any of the cookie values must equal the
  // form value, and the value must verify.
  CsrfCheck check(const std::vector<std::string_view>& cookie_values, std::string_view form_value,
                  std::int64_t now);

 private:
  explicit CsrfKey(std::unique_ptr<Hs256Key> k) : key_(std::move(k)) {}
  CsrfCheck verify(std::string_view token, std::int64_t now);
  std::unique_ptr<Hs256Key> key_;
};

}  // namespace zsso::cgi
