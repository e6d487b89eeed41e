// SPDX-License-Identifier: BSD-3-Clause
#include "csrf.hpp"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <cstdint>

#include "zsso/base64url.hpp"
#include "zsso/secret.hpp"

namespace zsso::cgi {

namespace {
constexpr std::size_t kNonce = 16, kTime = 8, kMac = 32, kRaw = kNonce + kTime;
constexpr std::string_view kDerivationLabel = "zendesk-sso csrf v1";
}  // namespace

const char* to_string(CsrfCheck c) {
  switch (c) {
    case CsrfCheck::ok: return "ok";
    case CsrfCheck::missing: return "missing";
    case CsrfCheck::mismatch: return "cookie and form token differ";
    case CsrfCheck::forged: return "bad signature or format";
    case CsrfCheck::expired: return "expired";
  }
  return "?";
}

Result<CsrfKey> CsrfKey::from_secret(const Secret& secret) {
  Hs256Key outer(secret);
  unsigned char derived[kMac];
  if (!outer.valid() || !outer.mac(kDerivationLabel, derived)) return Error{"HMAC setup failed"};
  Secret key(std::string_view(reinterpret_cast<const char*>(derived), kMac));
  secure_wipe(derived, sizeof derived);
  auto k = std::make_unique<Hs256Key>(key);
  if (!k->valid()) return Error{"HMAC setup failed"};
  return CsrfKey(std::move(k));
}

Result<CsrfKey> CsrfKey::from_config(const Config& cfg) {
  const std::string& path = cfg.helper.csrf_key_file.empty() ? cfg.zendesk.secret_file : cfg.helper.csrf_key_file;
  auto secret = load_secret_file(path);
  if (!secret) return Error{secret.error()};
  return from_secret(*secret);
}

Result<std::string> CsrfKey::issue(std::int64_t now) {
  unsigned char buf[kRaw + kMac];
  if (RAND_bytes(buf, kNonce) != 1) return Error{"RAND_bytes failed"};
  auto t = static_cast<std::uint64_t>(now);
  for (std::size_t i = 0; i < kTime; ++i) buf[kNonce + i] = static_cast<unsigned char>(t >> (8 * (kTime - 1 - i)));
  if (!key_->mac(std::string_view(reinterpret_cast<const char*>(buf), kRaw), buf + kRaw))
    return Error{"HMAC failed"};
  std::string out;
  base64url_encode_append(out, buf, sizeof buf);
  return out;
}

CsrfCheck CsrfKey::verify(std::string_view token, std::int64_t now) {
  if (token.size() > 128) return CsrfCheck::forged;
  auto raw = base64url_decode(token);
  if (!raw || raw->size() != kRaw + kMac) return CsrfCheck::forged;
  unsigned char expect[kMac];
  if (!key_->mac(std::string_view(raw->data(), kRaw), expect)) return CsrfCheck::forged;
  if (CRYPTO_memcmp(expect, raw->data() + kRaw, kMac) != 0) return CsrfCheck::forged;
  std::uint64_t t = 0;
  for (std::size_t i = 0; i < kTime; ++i) t = (t << 8) | static_cast<unsigned char>((*raw)[kNonce + i]);
  if (t > static_cast<std::uint64_t>(INT64_MAX / 2)) return CsrfCheck::expired;
  auto issued = static_cast<std::int64_t>(t);
  if (issued > now + kCsrfFutureSkewSeconds || now - issued > kCsrfLifetimeSeconds) return CsrfCheck::expired;
  return CsrfCheck::ok;
}

CsrfCheck CsrfKey::check(const std::vector<std::string_view>& cookie_values, std::string_view form_value,
                         std::int64_t now) {
  if (cookie_values.empty() || form_value.empty()) return CsrfCheck::missing;
  for (auto c : cookie_values) {
    if (c.size() != form_value.size() || CRYPTO_memcmp(c.data(), form_value.data(), c.size()) != 0) continue;
    return verify(form_value, now);
  }
  return CsrfCheck::mismatch;
}

}  // namespace zsso::cgi
