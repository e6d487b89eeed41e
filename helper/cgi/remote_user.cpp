// SPDX-License-Identifier: BSD-3-Clause
// Sign-in by the web server's own authentication (mod_auth_gssapi,
// mod_authnz_pam …): REMOTE_USER, with helper.trust_remote_user. No
// password: the account checks and the token only.
#include "handler.hpp"
#include "zsso/account.hpp"
#include "zsso/text.hpp"

namespace zsso::cgi {

// REMOTE_USER counts only with helper.trust_remote_user and with AUTH_TYPE
// beside it: the server sets both when one of its auth modules signed the
// user in, while a configuration mistake that copies a header into
// REMOTE_USER (SetEnvIf, a proxy's RequestHeader) sets only the one.
bool Handler::web_server_signed_in() {
  if (!cfg_.helper.trust_remote_user || req_.remote_user.empty()) return false;
  if (req_.auth_type.empty()) {
    note("REMOTE_USER without AUTH_TYPE ignored: not set by a web server auth module");
    return false;
  }
  return true;
}

Response Handler::remote_user_sign_in(std::string_view return_to) {
  LoginRequest lr;
  lr.user = req_.remote_user;
  lr.password_checked_by_web_server = true;
  if (lr.user.size() > kMaxUser || has_control_chars(lr.user) || !is_valid_utf8(lr.user)) {
    decided(audit::Way::remote_user, audit::Outcome::bad_login, lr.user, "unusable REMOTE_USER");
    return refused(N_("This account may not sign in to Zendesk."), "403 unusable REMOTE_USER " + user_for_log(lr.user));
  }
  note("REMOTE_USER");
  return attempt(lr, return_to);
}

}  // namespace zsso::cgi
