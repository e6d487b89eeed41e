// SPDX-License-Identifier: BSD-3-Clause
// Sign-in sessions: the account checks again for the user a verified
// session cookie names (see zsso/session.hpp for the cookie).
#include <shadow.h>

#include <algorithm>
#include <vector>

#include "login.hpp"
#include "zsso/session.hpp"
#include "zsso/text.hpp"

namespace zsso {

namespace {

LoginOutcome refused(LoginStatus s, std::string why) {
  LoginOutcome o;
  o.status = s;
  o.detail = std::move(why);
  return o;
}

// A local account whose shadow password is locked (usermod -L, passwd -l:
// "!" in front of the hash). pam_unix's account check passes such an account
// (only a password sign-in fails), but a session skips the password, so it
// is refused here, as OpenSSH refuses key sign-ins to locked accounts. Only
// where shadow is readable (the broker: group shadow, or root); elsewhere,
// and for directory accounts, the PAM account stack decides alone.
bool password_locked(const std::string& user) {
  struct spwd entry{}, *found = nullptr;
  std::vector<char> buf(4096);
  if (::getspnam_r(user.c_str(), &entry, buf.data(), buf.size(), &found) != 0 || !found || !found->sp_pwdp)
    return false;
  return found->sp_pwdp[0] == '!';
}

}  // namespace

Result<std::string> new_session_cookie(const Config& cfg, const std::string& user, const std::string& profile,
                                       std::int64_t now) {
  if (!cfg.session.enabled()) return Error{"sessions are off"};
  auto keys = SessionKeys::load(cfg.session);
  if (!keys) return Error{"session key: " + keys.error()};
  Session s;
  s.user = user;
  s.profile = profile;
  s.issued_at = now;
  s.last_used = now;
  return keys->issue(s);
}

LoginOutcome session_login(const Config& cfg, const SessionSignIn& req, std::int64_t now) {
  if (!cfg.session.enabled()) return refused(LoginStatus::bad_login, "session cookie ignored: sessions are off");
  auto keys = SessionKeys::load(cfg.session);
  if (!keys) return refused(LoginStatus::unavailable, "session key: " + keys.error());
  SessionVerdict v = keys->verify(req.cookie, req.profile, now, cfg.session);
  if (!v.ok()) {
    std::string who = v.session.user.empty() ? std::string() : " user=" + quote_for_log(v.session.user, 64);
    return refused(LoginStatus::bad_login, std::string("session cookie refused: ") + to_string(v.check) + who);
  }
  if (password_locked(v.session.user))
    return refused(LoginStatus::not_allowed, "session refused: the password of local account " +
                                                 quote_for_log(v.session.user, 64) + " is locked");
  LoginRequest lr;
  lr.user = v.session.user;
  lr.password_checked_by_web_server = true;
  lr.client_address = req.client_address;
  lr.profile = req.profile;
  lr.request_id = req.request_id;
  LoginOutcome out = pam_login(cfg, lr);
  if (out.status != LoginStatus::ok) return out;
  Session refreshed = v.session;
  refreshed.last_used = std::max(now, refreshed.last_used);
  auto cookie = keys->issue(refreshed);
  if (cookie) out.session = std::move(*cookie);
  else out.detail += "; the session cookie was not refreshed: " + cookie.error();
  out.detail += ", from a session " + std::to_string(now - v.session.issued_at) + " s old";
  return out;
}

}  // namespace zsso
