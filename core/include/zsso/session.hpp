// SPDX-License-Identifier: BSD-3-Clause
// Sign-in sessions (issue 13): signing and verifying the cookie that
// zsso/session_cookie.hpp describes, with the shared key file. Part of
// zsso_crypto (OpenSSL's HMAC); the CGI needs only session_cookie.hpp.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "zsso/config.hpp"
#include "zsso/jwt.hpp"
#include "zsso/result.hpp"
#include "zsso/secret.hpp"
#include "zsso/session_cookie.hpp"

namespace zsso {

// What session.key_file holds, for the "empty" message: never pasted, written.
inline constexpr std::string_view kSessionKeyHolds = "a key: zendesk-sso session revoke-all writes one";

class SessionKeys {
 public:
  // session.key_file, and session.previous_key_file when set and present
  // (a previous key file that is gone is no previous key). Both with the
  // Zendesk secret's permission checks; at least kMinSessionKey bytes.
  static Result<SessionKeys> load(const SessionConfig& cfg);
  static Result<SessionKeys> from_secrets(const Secret& current, const Secret* previous);

  // A new cookie value signed with the current key and bound to cred, and to
  // cred.key when set (s.key_id and s.bound are ignored).
  Result<std::string> issue(const Session& s, const SessionCredential& cred = {});
  // Parses, picks the key by id, checks the MAC, the profile, the lifetimes
  // and that the session is bound to cred, the account's credential now (a
  // "k" session: and to one of cred.keys, which the verdict names).
  SessionVerdict verify(std::string_view value, std::string_view profile, std::int64_t now,
                        const SessionConfig& limits, const SessionCredential& cred = {});
  const std::string& current_id() const { return current_.id; }

 private:
  struct Key {
    std::string id;
    std::unique_ptr<Hs256Key> mac;
  };
  static Result<Key> derive(const Secret& file_key);
  // The "bound" field for cred and the security key public_key ("": none)
  // under key k (session_cookie.hpp); nullopt on an HMAC failure.
  static std::optional<std::string> bound_to(Key& k, const std::string& user, const SessionCredential& cred,
                                             std::string_view public_key);
  Key current_;
  std::optional<Key> previous_;
};

// A fresh key for a key file: 32 bytes from RAND_bytes, base64url (43 characters).
Result<std::string> new_session_key_text();

}  // namespace zsso
