// SPDX-License-Identifier: BSD-3-Clause
#include "zsso/mint.hpp"

#include <nlohmann/json.hpp>

#include "zsso/claims.hpp"
#include "zsso/jwt.hpp"

namespace zsso {

Result<MintedToken> mint_token(const Config& cfg, const Account& a, const Secret& secret, std::int64_t now) {
  Hs256Key key(secret);
  if (!key.valid()) return Error{"cannot set up HMAC-SHA256 (OpenSSL)"};
  auto jti = new_jti();
  if (!jti) return Error{jti.error()};
  auto claims = build_claims(a, cfg.zendesk, cfg.claims, now, *jti);
  if (!claims) return Error{claims.error()};
  auto token = sign_jwt(*claims, key);
  if (!token) return Error{token.error()};
  MintedToken out;
  out.token = std::move(*token);
  out.jti = std::move(*jti);
  return out;
}

}  // namespace zsso
