// SPDX-License-Identifier: BSD-3-Clause
// One sign-in attempt, the same whichever way it runs: in-process libpam
// (direct mode: pam_login.cpp, which the CGI reaches through the module
// zendesk-sso-direct.so, direct_client.cpp) or through zendesk-sso-authd
// (broker mode, broker_client.cpp). The CGI calls sign_in() and never cares
// which. Two libraries: zsso_login (sign_in, the broker and direct-module
// clients: no libpam, no libcrypto; the CGI) and zsso_pam_login (pam_login,
// session_login, new_session_cookie; the broker and the direct module).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "zsso/audit.hpp"
#include "zsso/broker_protocol.hpp"
#include "zsso/config.hpp"
#include "zsso/result.hpp"
#include "zsso/secret.hpp"

namespace zsso {

class SecondFactor;

struct LoginRequest {
  std::string user;
  SecureBytes password;       // wiped when freed; empty in REMOTE_USER mode
  bool password_checked_by_web_server = false;  // REMOTE_USER mode: skip pam_authenticate
  std::string client_address; // becomes PAM_RHOST
  std::string profile;        // config profile ("" = base)
  std::string request_id;     // for log lines
  std::string binding;        // broker mode: the browser's conversation cookie value
  // The caller answers refusals at its own deadline (the broker's
  // FailureDeadline): libpam's failure delay is replaced by a hook that only
  // notes what it would have waited (LoginOutcome::pam_delay_skipped_ms).
  bool caller_paces_failures = false;
  // Broker mode: a factor the broker proves itself after pam_authenticate
  // (security keys, issue 23). Not owned.
  SecondFactor* second_factor = nullptr;
  // The re-authentication of an enrolment (issue 23, enrol_step.hpp): in
  // pam_login the account checks run, but no pam_setcred and no token (ok
  // ends there); broker_login sends it as an enrol request, whose ok (no
  // token) comes after the key registration step.
  bool account_check_only = false;
  // A passkey sign-in (issue 23 slice 5, webauthn.passwordless; broker mode
  // only): no user or password; the broker answers a key step for a
  // discoverable key, whose user handle names the account.
  bool passkey = false;
};

// The next step of a conversation the broker holds (broker mode only).
struct ContinueRequest {
  broker::ConversationId conversation{};
  std::string binding;        // the cookie value the conversation was started with
  std::uint8_t step = 0;
  std::vector<SecureBytes> answers;   // one per prompt of that step
  broker::KeyAssertion key;           // a key step's answer instead (issue 23): the browser's bytes, unchecked here
  broker::KeyRegistrationAnswer registration;   // a key registration step's answer instead (enrolment)
  std::string key_removal;                      // or a listed key's short id to remove
  std::string client_address;
  std::string request_id;
};

enum class LoginStatus {
  ok,            // token holds the signed JWT
  bad_login,     // pam_authenticate failed: wrong password or unknown user (never told apart); also
                 // pam_acct_mgmt after a correct password, which must not confirm it (issue 22)
  not_allowed,   // pam_acct_mgmt failed without a password (REMOTE_USER, sessions): ranges, groups, uid, expired
  unavailable,   // broker down / PAM misconfigured / token not produced: 503
  error,         // anything else: 500
  prompt,        // the stack asks more: show messages, answer with broker_continue
  gone,          // the conversation is over (timed out, finished, broker restarted): start again
  busy,          // broker.max_sign_ins sign-ins are running already: 503, try again soon
  limited,       // this address or account holds its share of the broker (issue 22.1): 429, wait for them to end
  password_expired,  // a new password is needed, not changed here: helper.password_change_url or the help contact
};

struct LoginOutcome {
  LoginOutcome() = default;
  LoginOutcome(LoginStatus s, std::string t, std::string d) : status(s), token(std::move(t)), detail(std::move(d)) {}
  LoginStatus status = LoginStatus::error;
  std::string token;          // only with ok
  std::string detail;         // for syslog only, never shown to the user
  // prompt: the page (messages and 1..kMaxAnswers prompts); ok: what PAM
  // said last (e.g. "Your password will expire in 3 days"), to show.
  std::vector<broker::Message> messages;
  broker::ConversationId conversation{};   // prompt only
  std::uint8_t step = 0;                    // prompt only
  // prompt: a security key step instead of prompts (issue 23, broker mode only).
  broker::KeyChallenge key;
  // prompt: a key registration step instead of prompts (an enrolment).
  broker::KeyRegistration registration;
  // With a registration step, and with key_added: the account's keys.
  std::vector<broker::KeyListEntry> keys;
  // ok of an enrolment: the key was added, or removed (no token).
  bool key_added = false;
  // ok, with session.key_file set: the browser's new (or refreshed) session
  // cookie value. Broker mode: from the broker; direct mode: session_login
  // or new_session_cookie.
  std::string session;
  // The last answer of a multi-step sign-in: the user name the broker's
  // conversation started with (the later steps' requests do not carry it).
  std::string user;
  // With caller_paces_failures: the failure delay libpam would have slept
  // after a failed pam_authenticate (its hook ran instead); -1: none.
  long pam_delay_skipped_ms = -1;
  // The broker answered (it decided, and wrote the audit event); false when
  // this process decided: direct mode, or the broker was not reached.
  bool answered_by_broker = false;
  // not_allowed: webauthn.required_groups asks a security key this account has not.
  bool key_required = false;
  // ok: during pam_authenticate the stack asked a hidden (echo-off) prompt
  // after the password's and accepted its answer: a second factor of the
  // stack (a one-time code), which may admit a first security key.
  bool other_factor = false;
};

// Asks the person signing in, for a PAM conversation that needs more than
// the password of the first page. Broker mode only; direct mode has none.
class Asker {
 public:
  virtual ~Asker() = default;
  // Shows page (messages, then prompts) and fills one answer per prompt.
  // false: nobody answered (timeout, gone); the PAM call then fails.
  virtual bool ask(const std::vector<broker::Message>& page, std::vector<SecureBytes>& answers) = 0;
};

// A second factor the caller proves itself, after pam_authenticate and
// before pam_acct_mgmt (the broker's security keys, key_step.hpp).
class SecondFactor {
 public:
  virtual ~SecondFactor() = default;
  // PAM environment entries set before pam_authenticate, so the stack can
  // tell that a key will be proven ("ZSSO_WEBAUTHN=1"; "NAME" removes one).
  virtual std::vector<std::string> pam_env() = 0;
  // After a successful pam_authenticate: nothing when proven (or nothing to
  // prove), else the sign-in's answer.
  virtual std::optional<LoginOutcome> prove() = 0;
};

// In-process PAM transaction for cfg.pam.service, after checking that
// zendesk.secret_file loads (else unavailable, before PAM asks anything):
// pam_authenticate (unless password_checked_by_web_server) -> the second
// factor, if any (webauthn.* needs one: refused without) -> pam_acct_mgmt ->
// pam_setcred(PAM_ESTABLISH_CRED) -> pam_getenv("ZENDESK_JWT"); with
// account_check_only, ok (no token) right after pam_acct_mgmt.
// With an asker, every prompt after the first password prompt (and the
// password change of an expired account, pam_chauthtok) goes to it; without
// one, a stack that asks more than the password is refused (503, "needs the
// broker"), as a web request cannot wait for a second answer.
LoginOutcome pam_login(const Config& cfg, const LoginRequest& req, Asker* asker = nullptr);
// "; libpam's failure delay (N ms) skipped" for a refusal's log line, or nothing.
std::string pam_delay_note(const LoginOutcome& out);

// The same through the broker at cfg.broker.socket.
LoginOutcome broker_login(const Config& cfg, const LoginRequest& req);
// The next step of a conversation, sent to its own socket.
LoginOutcome broker_continue(const Config& cfg, const ContinueRequest& req);

// Asks the broker at cfg.broker.socket for a no-op answer: it checks the
// caller against broker.allowed_peers and loads its config and the secret,
// and runs no PAM. "busy" (broker.max_sign_ins reached) counts as up.
// The error says which step failed (connect, refused peer, config, secret ...).
Result<void> broker_ping(const Config& cfg);

// pam_login (and, with sessions on, new_session_cookie after an ok) in
// zendesk-sso-direct.so, loaded on first use; unavailable when the module
// cannot be loaded. cfg.source must be the configuration file's path.
LoginOutcome direct_login(const Config& cfg, const LoginRequest& req);

// broker_login when cfg.broker.socket is set, else direct_login.
LoginOutcome sign_in(const Config& cfg, const LoginRequest& req);

// The audit event's outcome for a sign-in's result; nullopt for what is not
// a decision (a further prompt, a conversation already over).
std::optional<audit::Outcome> audit_outcome(LoginStatus s);

// ---- Sign-in sessions (issue 13; session_login.cpp) ----

// A sign-in from the browser's session cookie instead of a password.
struct SessionSignIn {
  std::string cookie;          // the session cookie's value
  std::string client_address;  // becomes PAM_RHOST
  std::string profile;
  std::string request_id;
  // The public keys of the security keys the cookie's user has now (the
  // broker reads webauthn.authfile for a session a key sign-in made): such
  // a session holds only while the key that made it is among them.
  std::vector<std::string> user_keys;
};

// Verifies the cookie with session.key_file (and previous_key_file), then
// runs the account checks only for the user it names, as in REMOTE_USER
// mode: pam_acct_mgmt and pam_setcred, PAM_RHOST the current client. ok:
// a fresh token and the cookie refreshed (last used: now). A cookie that
// does not verify is bad_login; a failed account check not_allowed.
LoginOutcome session_login(const Config& cfg, const SessionSignIn& req, std::int64_t now);
// The same through the broker (a session request), which holds the key.
LoginOutcome broker_session_login(const Config& cfg, const SessionSignIn& req);
// session_login in zendesk-sso-direct.so, as direct_login.
LoginOutcome direct_session_login(const Config& cfg, const SessionSignIn& req, std::int64_t now);
// direct_session_login or broker_session_login, as sign_in.
LoginOutcome sign_in_from_session(const Config& cfg, const SessionSignIn& req, std::int64_t now);

// A new session cookie for a password (or REMOTE_USER) sign-in that just
// succeeded; an error when sessions are off or the key cannot be read.
// security_key: the public key the sign-in's key step proved ("" none): the
// session is bound to it too, and ends when it is removed.
Result<std::string> new_session_cookie(const Config& cfg, const std::string& user, const std::string& profile,
                                       std::int64_t now, const std::string& security_key = {});

}  // namespace zsso
