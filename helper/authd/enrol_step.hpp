// SPDX-License-Identifier: BSD-3-Clause
// Enrolling a security key (issue 23, slice 4; docs/webauthn.md): what the
// broker does after the re-authentication of an enrol request (flag bit 3),
// a password sign-in whose pam_login stopped after the account checks
// (no token). It decides whether this account may add a key now (the
// first-key rules), sends one registration step (a fresh single-use
// challenge for navigator.credentials.create()), checks the answer with
// webauthn::verify_registration, redeems the invite code when one is needed,
// and adds the key to webauthn.authfile in pam_u2f's format.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "authfile.hpp"
#include "login.hpp"
#include "zsso/broker_protocol.hpp"
#include "zsso/config.hpp"

namespace zsso::authd {

// How old the re-authentication may be when the key is stored: the
// conversation's start (the password) is at most this long ago.
inline constexpr std::int64_t kEnrolFreshnessSeconds = 300;

// The account's keys as the page lists them (at most kMaxKeyCredentials),
// each named as `zendesk-sso keys list` names it (store.hpp's short_ids).
std::vector<broker::KeyListEntry> key_list(const std::vector<authfile::Credential>& keys);

// Whether a first key may be enrolled without an invite code: the admin's
// webauthn.first_key, the stack's other factor, today's UTC date.
bool first_key_without_invite(const WebauthnConfig& cfg, bool other_factor, std::int64_t now);

class EnrolStep {
 public:
  // Shows the registration step and waits for the browser's answer (a
  // registration, or the short id of a listed key to remove); false: no answer.
  using Ask = std::function<bool(const broker::KeyRegistration&, const std::vector<broker::KeyListEntry>&,
                                 broker::KeyRegistrationAnswer&, std::string&)>;
  using Log = std::function<void(int priority, const std::string&)>;

  EnrolStep(const WebauthnConfig& cfg, std::string user, Ask ask, Log log);

  struct Outcome {
    LoginOutcome login;                         // ok (no token): the key was added, or removed
    std::vector<broker::KeyListEntry> keys;     // with ok: the account's keys now
    bool invite_refused = false;                // bad_login for a missing or wrong invite code
  };
  // existing: the account's keys as the key step read them (a key of them
  // was proven in this conversation); other_factor: LoginOutcome's;
  // started: when the conversation started (unix seconds).
  Outcome run(const std::vector<authfile::Credential>& existing, bool other_factor, std::int64_t started);

 private:
  // The answer was a listed key's short id: that key leaves the store.
  Outcome remove(const std::vector<authfile::Credential>& existing, const std::string& id);

  const WebauthnConfig& cfg_;
  std::string user_;
  Ask ask_;
  Log log_;
};

}  // namespace zsso::authd
