// SPDX-License-Identifier: BSD-3-Clause
// JWT verification (verify_jwt with a fixed key) and decode_jwt_claims_unverified,
// as `zendesk-sso verify TOKEN` and the tests use them.
// The first byte picks the mode:
//   even: the rest is a token, checked as given (header, base64url, signature);
//   odd:  the rest is a payload, signed here with the key, so the claim checks
//         behind the signature (iat, exp) are reached too.
#include <cstddef>
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "fuzz_support.hpp"
#include "zsso/base64url.hpp"
#include "zsso/jwt.hpp"

namespace {

constexpr std::int64_t kNow = 1700000000;

zsso::Hs256Key& fuzz_key() {
  static zsso::Secret secret("fuzzing-secret-0123456789abcdef0123456789abcdef");
  static zsso::Hs256Key key(secret);
  return key;
}

void check_token(std::string_view token) {
  auto& key = fuzz_key();
  zsso::VerifyOptions strict;
  strict.now = kNow;
  zsso::VerifyOptions lax = strict;
  lax.check_iat = false;

  auto unverified = zsso::decode_jwt_claims_unverified(token);
  auto verified_lax = zsso::verify_jwt(token, key, lax);
  auto verified = zsso::verify_jwt(token, key, strict);
  if (verified) FUZZ_CHECK(verified_lax.ok());
  if (verified_lax) {
    // A token that verifies has a readable payload, and it is the same one.
    FUZZ_CHECK(unverified.ok());
    FUZZ_CHECK(*unverified == *verified_lax);
  }
  if (unverified) {
    // Whatever decodes can be signed again, and that token verifies to the same claims.
    auto again = zsso::sign_jwt(*unverified, key);
    FUZZ_CHECK(again.ok());
    auto back = zsso::verify_jwt(*again, key, lax);
    FUZZ_CHECK(back.ok());
    FUZZ_CHECK(*back == *unverified);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  auto rest = fuzz_input(data + 1, size - 1);
  if ((data[0] & 1) == 0) {
    check_token(rest);
    return 0;
  }
  std::string token = "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.";   // {"typ":"JWT","alg":"HS256"}
  token += zsso::base64url_encode(rest);
  unsigned char sig[32];
  FUZZ_CHECK(fuzz_key().mac(token, sig));
  token += '.';
  zsso::base64url_encode_append(token, sig, sizeof sig);
  check_token(token);
  return 0;
}
