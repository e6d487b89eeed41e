// SPDX-License-Identifier: BSD-3-Clause
// One sign-in attempt, the same whichever way it runs: in-process libpam
// (direct mode, pam_login.cpp) or through zendesk-sso-authd (broker mode,
// broker_client.cpp). The CGI calls sign_in() and never cares which.
#pragma once

#include <string>

#include "zsso/config.hpp"
#include "zsso/secret.hpp"

namespace zsso {

struct LoginRequest {
  std::string user;
  SecureBytes password;       // wiped when freed; empty in REMOTE_USER mode
  bool password_checked_by_web_server = false;  // REMOTE_USER mode: skip pam_authenticate
  std::string client_address; // becomes PAM_RHOST
  std::string profile;        // config profile ("" = base)
  std::string request_id;     // for log lines
};

enum class LoginStatus {
  ok,            // token holds the signed JWT
  bad_login,     // pam_authenticate failed: wrong password or unknown user (never told apart)
  not_allowed,   // pam_acct_mgmt failed: ranges, groups, uid, expired, locked
  unavailable,   // broker down / PAM misconfigured / token not produced: 503
  error,         // anything else: 500
};

struct LoginOutcome {
  LoginStatus status = LoginStatus::error;
  std::string token;          // only with ok
  std::string detail;         // for syslog only, never shown to the user
};

// In-process PAM transaction for cfg.pam.service:
// pam_authenticate (unless password_checked_by_web_server) -> pam_acct_mgmt ->
// pam_setcred(PAM_ESTABLISH_CRED) -> pam_getenv("ZENDESK_JWT").
LoginOutcome pam_login(const Config& cfg, const LoginRequest& req);

// The same through the broker at cfg.broker.socket.
LoginOutcome broker_login(const Config& cfg, const LoginRequest& req);

// broker_login when cfg.broker.socket is set, else pam_login.
LoginOutcome sign_in(const Config& cfg, const LoginRequest& req);

}  // namespace zsso
