// SPDX-License-Identifier: BSD-3-Clause
// Minting a Zendesk token for an account: the one sequence pam_zendesk.so and
// `zendesk-sso mint` share (claims -> fresh jti -> HS256).
#pragma once

#include <cstdint>
#include <string>

#include "zsso/account.hpp"
#include "zsso/config.hpp"
#include "zsso/result.hpp"
#include "zsso/secret.hpp"

namespace zsso {

struct MintedToken {
  std::string token;
  std::string jti;   // safe to log; the token is not
  MintedToken() = default;
  MintedToken(MintedToken&&) = default;
  MintedToken& operator=(MintedToken&&) = default;
  ~MintedToken() { secure_wipe(token.data(), token.size()); }
};

// Claims for `a` from cfg.claims at time `now`, signed with `secret`.
Result<MintedToken> mint_token(const Config& cfg, const Account& a, const Secret& secret, std::int64_t now);

}  // namespace zsso
