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
// What a session is bound to (issue 22, point 6): a local account's shadow
// hash where the process can read it, so changing or resetting the password
// (a new hash, a new salt) ends every session made before. Directory
// accounts (SSSD, Kerberos, LDAP) and direct mode (no shadow group) have
// none to read: such sessions end by their lifetimes, the account checks
// that every use re-runs, or `zendesk-sso session revoke-all`. A session a
// security-key sign-in made is bound to that key as well (SessionCredential::key).
SessionCredential credential_of(const std::string& user) {
  SessionCredential cred;
  struct spwd entry{}, *found = nullptr;
  std::vector<char> buf(4096);
  if (::getspnam_r(user.c_str(), &entry, buf.data(), buf.size(), &found) == 0 && found && found->sp_pwdp) {
    cred.kind = SessionCredential::Kind::password;
    cred.password_hash = found->sp_pwdp;
  }
  secure_wipe(buf.data(), buf.size());
  return cred;
}

// Wipes the hash's copy when the sign-in is done with it.
struct CredentialOf {
  explicit CredentialOf(const std::string& user) : cred(credential_of(user)) {}
  ~CredentialOf() { secure_wipe(cred.password_hash.data(), cred.password_hash.size()); }
  CredentialOf(const CredentialOf&) = delete;
  CredentialOf& operator=(const CredentialOf&) = delete;
  SessionCredential cred;
};

bool password_locked(const SessionCredential& cred) {
  return cred.kind == SessionCredential::Kind::password && !cred.password_hash.empty() && cred.password_hash[0] == '!';
}

}  // namespace

Result<std::string> new_session_cookie(const Config& cfg, const std::string& user, const std::string& profile,
                                       std::int64_t now, const std::string& security_key) {
  if (!cfg.session.enabled()) return Error{"sessions are off"};
  auto keys = SessionKeys::load(cfg.session);
  if (!keys) return Error{"session key: " + keys.error()};
  Session s;
  s.user = user;
  s.profile = profile;
  s.issued_at = now;
  s.last_used = now;
  CredentialOf bound(user);
  bound.cred.key = security_key;
  return keys->issue(s, bound.cred);
}

LoginOutcome session_login(const Config& cfg, const SessionSignIn& req, std::int64_t now) {
  if (!cfg.session.enabled()) return refused(LoginStatus::bad_login, "session cookie ignored: sessions are off");
  auto keys = SessionKeys::load(cfg.session);
  if (!keys) return refused(LoginStatus::unavailable, "session key: " + keys.error());
  // The cookie names the user; its credential is read before the MAC is
  // checked only to compare it, and nothing is told about it.
  auto claimed = parse_session_unverified(req.cookie);
  CredentialOf bound(claimed ? claimed->user : std::string());
  bound.cred.keys = req.user_keys;
  SessionVerdict v = keys->verify(req.cookie, req.profile, now, cfg.session, bound.cred);
  if (v.check == SessionCheck::credential_changed && password_locked(bound.cred))
    return refused(LoginStatus::not_allowed, "session refused: the password of local account " +
                                                 quote_for_log(v.session.user, 64) + " is locked");
  if (!v.ok()) {
    std::string who = v.session.user.empty() ? std::string() : " user=" + quote_for_log(v.session.user, 64);
    return refused(LoginStatus::bad_login, std::string("session cookie refused: ") + to_string(v.check) + who);
  }
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
  bound.cred.key = v.key;  // still bound to the key that made it
  auto cookie = keys->issue(refreshed, bound.cred);
  if (cookie) out.session = std::move(*cookie);
  else out.detail += "; the session cookie was not refreshed: " + cookie.error();
  out.detail += ", from a session " + std::to_string(now - v.session.issued_at) + " s old";
  return out;
}

}  // namespace zsso
