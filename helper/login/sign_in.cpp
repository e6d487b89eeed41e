// SPDX-License-Identifier: BSD-3-Clause
#include "login.hpp"

namespace zsso {

LoginOutcome sign_in(const Config& cfg, const LoginRequest& req) {
  // Only the broker verifies keys: in direct mode a passkey request must never reach PAM as an empty login.
  if (req.passkey && cfg.broker.socket.empty())
    return {LoginStatus::unavailable, {}, "a passkey sign-in needs the broker (broker.socket)"};
  return cfg.broker.socket.empty() ? direct_login(cfg, req) : broker_login(cfg, req);
}

LoginOutcome sign_in_from_session(const Config& cfg, const SessionSignIn& req, std::int64_t now) {
  return cfg.broker.socket.empty() ? direct_session_login(cfg, req, now) : broker_session_login(cfg, req);
}

std::optional<audit::Outcome> audit_outcome(LoginStatus s) {
  using O = audit::Outcome;
  switch (s) {
    case LoginStatus::ok: return O::signed_in;
    case LoginStatus::bad_login: return O::bad_login;
    case LoginStatus::not_allowed: return O::not_allowed;
    case LoginStatus::password_expired: return O::password_expired;
    case LoginStatus::busy: return O::busy;
    case LoginStatus::limited: return O::busy;   // a share refused at once (issue 22.1): counted as busy
    case LoginStatus::unavailable: return O::unavailable;
    case LoginStatus::error: return O::error;
    case LoginStatus::prompt:
    case LoginStatus::gone: return std::nullopt;
  }
  return O::error;
}

}  // namespace zsso
