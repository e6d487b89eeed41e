// SPDX-License-Identifier: BSD-3-Clause
#include "zendesk_errors.hpp"

#include <string>

#include "i18n.hpp"
#include "zsso/text.hpp"

namespace zsso::cgi {

namespace {

struct Rule {
  std::string_view needles[4];   // any of them, case-insensitive
  ZendeskErrorCause cause;
};

// Messages seen from Zendesk's /access/jwt (its JWT SSO article and its
// community threads): "Invalid iat parameter. Please check your system
// clock", "JWT signature invalid. The signature cannot be verified, check
// that your tokens match", "Token has already been used", "Users with the
// email address … are not allowed to sign up for this help desk", "Email is
// invalid", "Name: is too short", "unique user identifier has been reused".
// First match wins; the order puts the specific causes first.
constexpr Rule kRules[] = {
    {{"invalid iat", "iat parameter", "clock", "expired"},
     {"clock-skew", N_("The clocks of the sign-in server and Zendesk disagree."),
      "the token's iat is outside Zendesk's window: check the host's clock (timedatectl; NTP on)"}},
    {{"signature", "shared secret", "tokens match", ""},
     {"wrong-secret", N_("Zendesk did not accept the sign-in server's key."),
      "the signature does not verify: zendesk.secret_file must hold the shared secret of Zendesk's JWT "
      "configuration (Admin Center > Account > Security > Single sign-on); a new secret there needs a new file here"}},
    {{"already been used", "jti", "replay", ""},
     {"replay", N_("The sign-in link was used twice."),
      "Zendesk saw this token's jti before: a reload or a second submit; if it repeats, look for a proxy replaying POSTs"}},
    {{"not allowed to sign up", "suspended", "not allowed", "blocklist"},
     {"account", N_("Zendesk does not allow this account to sign in."),
      "Zendesk refused the user: suspended, or blocked by the end-user sign-up settings or blocklist"}},
    {{"email", "name", "external", "organization"},
     {"bad-claims", N_("Zendesk did not accept the account details it was sent."),
      "Zendesk refused a claim: check claims.* (email, name, external_id, organization, role, tags, user_fields) "
      "with zendesk-sso mint USER"}},
    {{"user_fields", "role", "locale", "tags"},
     {"bad-claims", N_("Zendesk did not accept the account details it was sent."),
      "Zendesk refused the token's content: check claims.* with zendesk-sso mint USER and verify"}},
};

}  // namespace

ZendeskErrorCause classify_zendesk_error(std::string_view message) {
  const std::string m = ascii_lower(message);
  for (const auto& r : kRules)
    for (auto n : r.needles)
      if (!n.empty() && m.find(n) != std::string::npos) return r.cause;
  return {"unknown", N_("Zendesk did not say why."),
          "Zendesk's message is not one zendesk-sso knows; see it quoted here"};
}

}  // namespace zsso::cgi
