// SPDX-License-Identifier: BSD-3-Clause
// HS256 JSON Web Tokens (RFC 7519 / JWS compact form), the only kind Zendesk takes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>  // callers that use the claims include json.hpp
#include <openssl/types.h>

#include "zsso/result.hpp"
#include "zsso/secret.hpp"

namespace zsso {

// A keyed HMAC-SHA256 (OpenSSL EVP_MAC), set up once and reused per token.
// Not thread-safe: one per thread.
class Hs256Key {
 public:
  explicit Hs256Key(const Secret& secret);
  ~Hs256Key();
  Hs256Key(const Hs256Key&) = delete;
  Hs256Key& operator=(const Hs256Key&) = delete;

  bool valid() const { return ctx_ != nullptr; }
  // 32-byte MAC of data into out; false on an OpenSSL failure.
  bool mac(std::string_view data, unsigned char out[32]);

 private:
  EVP_MAC_CTX* ctx_ = nullptr;
};

// The longest token verify_jwt reads, sign_jwt makes and the helper hands on:
// all agree, so every token we sign verifies and is delivered. Real tokens are
// well under 1 KiB (a claims set this big is a template gone wrong), and 8 KiB
// keeps even a GET delivery URL within what web servers take.
inline constexpr std::size_t kMaxTokenSize = 8 * 1024;

// 16 random bytes from RAND_bytes, base64url (22 characters).
Result<std::string> new_jti();

// header.payload.signature with header {"typ":"JWT","alg":"HS256"}. Refuses
// claims whose token would be longer than kMaxTokenSize.
Result<std::string> sign_jwt(const nlohmann::ordered_json& claims, Hs256Key& key);

struct VerifyOptions {
  std::int64_t now = 0;              // seconds since the epoch
  std::int64_t max_skew = 180;       // iat must be within now ± max_skew (Zendesk: 3 min)
  bool check_iat = true;
};

// Verifies signature (constant time), header (alg must be HS256, typ JWT if
// present) and, when asked, iat/exp. Returns the claims.
Result<nlohmann::ordered_json> verify_jwt(std::string_view token, Hs256Key& key, const VerifyOptions& opt);

// Decodes without checking the signature (for error messages and tools only).
Result<nlohmann::ordered_json> decode_jwt_claims_unverified(std::string_view token);

}  // namespace zsso
