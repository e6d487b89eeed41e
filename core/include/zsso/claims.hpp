// SPDX-License-Identifier: BSD-3-Clause
// Zendesk JWT claims from an account and the config's claims section.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "zsso/account.hpp"
#include "zsso/config.hpp"
#include "zsso/result.hpp"

namespace zsso {

// Expands {user} {uid} {gid} {gecos} {home} {group}; "{{"/"}}" are braces.
Result<std::string> expand_template(std::string_view tmpl, const Account& a);
// Checks a template's placeholders without an account (config validation).
Result<void> check_template(std::string_view tmpl);

// iat, jti, email, name, then the optional claims the config maps, with real
// JSON types (arrays as arrays, integers as integers). Rejects values with
// control characters or invalid UTF-8, and an email without a single '@'.
// name falls back to the user name when its template expands to "".
Result<nlohmann::ordered_json> build_claims(const Account& a, const ZendeskConfig& zd,
                                            const ClaimsConfig& c, std::int64_t now,
                                            std::string_view jti);

}  // namespace zsso
