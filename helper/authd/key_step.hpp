// SPDX-License-Identifier: BSD-3-Clause
// Security keys as a second factor in the broker's conversation (issue 23,
// slice 2; docs/webauthn.md). With webauthn.rp_id set, a person who has a key
// in webauthn.authfile (pam_u2f's format), or who is in
// webauthn.required_groups, is told to PAM as a key holder (ZSSO_WEBAUTHN=1
// in the PAM environment before pam_authenticate, so the admin's stack can
// skip its one-time code), and after the password gets one more step: a
// fresh single-use challenge for navigator.credentials.get(). The answer is
// checked by webauthn::verify_assertion and the key's new sign count saved
// (atomically, under a lock) in the side file, authfile + ".json".
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "authfile.hpp"
#include "login.hpp"
#include "zsso/broker_protocol.hpp"
#include "zsso/config.hpp"

namespace zsso::authd {

// The PAM environment variable a stack tests (examples/pam.d/zendesk-sso-webauthn).
inline constexpr const char* kKeyHolderEnv = "ZSSO_WEBAUTHN";

// webauthn.user_verification as the wire's key steps say it.
broker::KeyChallenge::Verification wire_verification(WebauthnConfig::Verification v);

class KeyStep : public SecondFactor {
 public:
  // Shows the key step and waits for the browser's assertion; false: no answer.
  using Ask = std::function<bool(const broker::KeyChallenge&, broker::KeyAssertion&)>;
  // A line for the broker's log (a possible cloned key, a store that cannot be read).
  using Log = std::function<void(int priority, const std::string&)>;

  KeyStep(const WebauthnConfig& cfg, std::string user, Ask ask, Log log);

  std::vector<std::string> pam_env() override;
  std::optional<LoginOutcome> prove() override;
  // After prove() passed: the public key that signed (a session is bound to it).
  const std::string& proven_key() const { return proven_key_; }

  // The re-authentication of an enrolment: a key holder proves a key as in
  // a sign-in, but a required group's member without one is not refused
  // (the first-key rules decide, enrol_step.hpp) and not told to PAM as a
  // key holder (the stack asks its own second factor).
  void for_enrolment() { enrolment_ = true; }
  // The account's keys as read before pam_authenticate; after an ok
  // pam_login with keys, one of them was proven.
  const std::vector<authfile::Credential>& keys() const { return keys_; }

  // A passkey sign-in (slice 5, webauthn.passwordless): constructed with no
  // user. Asks for a discoverable key (no allowed credentials, user
  // verification required); the answer's user handle names the account
  // through the side file's map, and that account's key with the answered
  // credential id and that user handle must have signed. nullopt: proven,
  // and user() is the account.
  std::optional<LoginOutcome> prove_passkey();
  const std::string& user() const { return user_; }

 private:
  std::optional<LoginOutcome> verify(const broker::KeyChallenge& challenge, const broker::KeyAssertion& answer);
  // Whether a resident key enrolled with `pamu2fcfg -r` (handle "*": its
  // random user id thrown away) that just proved the second factor of an
  // account known from its password keeps the user handle it answered with,
  // and so becomes a passkey: only when its side record has none and no other
  // account's key has that handle (each refusal logged). The handle is not
  // signed by the key; it only ever names the account that proved it.
  bool learn_user_handle(const authfile::SideFile& side, const authfile::Credential& key,
                         const std::string& handle) const;
  // A fresh single-use challenge for rp_id (nullopt: no randomness).
  std::optional<broker::KeyChallenge> new_challenge() const;
  // The first of webauthn.required_groups the account is in (looked up once).
  const std::optional<std::string>& required_group();

  const WebauthnConfig& cfg_;
  std::string user_;
  Ask ask_;
  Log log_;
  bool enrolment_ = false;
  bool loaded_ = false;
  std::string load_error_;   // the store could not be read: no key can be proven
  std::vector<authfile::Credential> keys_;
  std::string proven_key_;
  std::string passkey_handle_;   // a passkey sign-in's user handle: only keys enrolled with it count
  bool group_looked_up_ = false;
  std::optional<std::string> required_group_;
  std::string group_error_;  // NSS failed: the groups are unknown
};

}  // namespace zsso::authd
