// SPDX-License-Identifier: BSD-3-Clause
// Sign-in with a passkey (issue 23 slice 5; webauthn.passwordless, broker
// mode). The sign-in form's "Sign in with a passkey" button posts passkey=1
// with the form's CSRF token and no name or password; the broker answers a
// key step for a discoverable key (no allowed credentials, user verification
// required), shown as the key page (conversation.cpp's prompt), whose answer
// carries the key's userHandle. The broker names the account from it and
// decides; nothing here learns or says which account a key belongs to.
#include <syslog.h>

#include "handler.hpp"

namespace zsso::cgi {

bool Handler::passkey_offered() const {
  return !enrolling() && cfg_.webauthn.enabled() && cfg_.webauthn.passwordless && !cfg_.broker.socket.empty();
}

Response Handler::passkey_sign_in(const FormFields& fields, std::string_view return_to, std::string_view again) {
  // The button's form has none of these: a post with them is not from this page.
  for (auto name : {"user", "password", "conversation", "step"})
    if (form_count(fields, name) > 0) return bad_request(std::string("passkey sign-in with a ") + name + " field");
  const std::string* flag = form_get(fields, "passkey");
  if (!flag || *flag != "1") return bad_request("malformed passkey field");
  // The form never offers it then (no button): a forged or stale post, told plainly, nothing sent on.
  if (!passkey_offered()) {
    const char* why = enrolling()                           ? "on the security keys page"
                      : cfg_.broker.socket.empty()          ? "in direct mode (no broker.socket)"
                      : !cfg_.webauthn.enabled()            ? "without webauthn.rp_id"
                                                            : "with webauthn.passwordless off";
    decided(audit::Way::key, audit::Outcome::not_allowed, {}, std::string("passkey sign-in ") + why);
    return page(403,
                Message{N_("Passkeys are not used here"), N_("This site does not offer signing in with a passkey."),
                        N_("Sign in with your user name and password."), again, N_("Open the sign-in form")},
                LOG_NOTICE, std::string("403 passkey sign-in refused ") + why);
  }
  passkey_ = true;
  LoginRequest lr;
  lr.passkey = true;
  return attempt(lr, return_to);
}

}  // namespace zsso::cgi
