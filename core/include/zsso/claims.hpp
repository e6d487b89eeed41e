// SPDX-License-Identifier: BSD-3-Clause
// Zendesk JWT claims from an account and the config's claims section.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>  // callers that use the claims include json.hpp

#include "zsso/account.hpp"
#include "zsso/config.hpp"
#include "zsso/result.hpp"

namespace zsso {

// Expands {user} {uid} {gid} {gecos} {home} {group}; "{{"/"}}" are braces.
Result<std::string> expand_template(std::string_view tmpl, const Account& a);
// Checks a template's placeholders without an account (config validation).
Result<void> check_template(std::string_view tmpl);

// The role the token carries: the first claims.role_by_group group the
// account is in, else claims.role, else none (Zendesk keeps the user's role).
// The sign-in (build_claims) and `zendesk-sso sync` both decide with this.
std::optional<std::string> role_for(const Account& a, const ClaimsConfig& c);

// A template read backwards, for `zendesk-sso sync`: "{user}@acme.com" or
// "linux-{uid}" has one {user} or {uid} between literal text. match() gives
// the user name or uid a value was made from, or nullopt when the value does
// not fit (another system's external_id, another domain's address).
struct TemplateKey {
  enum class Kind { user, uid };
  Kind kind = Kind::user;
  std::string prefix, suffix;
  std::optional<std::string> match(std::string_view value) const;
};
Result<TemplateKey> template_key(std::string_view tmpl);

// iat, jti, email, name, then the optional claims the config maps, with real
// JSON types (arrays as arrays, integers as integers). Rejects values with
// control characters or invalid UTF-8, and an email without a single '@'.
// name falls back to the user name when its template expands to "".
Result<nlohmann::ordered_json> build_claims(const Account& a, const ZendeskConfig& zd,
                                            const ClaimsConfig& c, std::int64_t now,
                                            std::string_view jti);

}  // namespace zsso
