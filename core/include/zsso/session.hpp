// SPDX-License-Identifier: BSD-3-Clause
// Sign-in sessions (issue 13): a stateless cookie that says "this browser
// signed in as USER for PROFILE at ISSUED, last used at LAST", authenticated
// with a key every web host (or broker) behind one balancer shares.
//
//   value = "1" "." kid "." issued "." last "." b64url(profile) "." b64url(user) "." b64url(mac)
//   kid   = hex of the first 4 bytes of HMAC-SHA256(file key, "zendesk-sso session key id v1")
//   mac   = HMAC-SHA256(HMAC-SHA256(file key, "zendesk-sso session v1"), everything before the last ".")
//
// issued and last are decimal seconds since the epoch. The value carries no
// secret; anything changed in it fails the MAC (compared in constant time).
// The key id only picks which key to try (current or previous, during a
// rotation): it is not trusted for anything else. Every use re-runs the
// account checks; this only says who signed in and when.
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

namespace zsso {

inline constexpr std::size_t kMaxSessionCookie = 1024;      // longer values are refused unread
inline constexpr std::size_t kMinSessionKey = 32;           // bytes in the key file
inline constexpr std::int64_t kSessionFutureSkew = 60;      // hosts behind a balancer disagree a little

// "__Host-zsso_session", or "__Host-zsso_session_PROFILE" for a profile: a
// browser can hold a team-member and an end-user session side by side.
std::string session_cookie_name(std::string_view profile);

struct Session {
  std::string profile;                 // "" = base configuration
  std::string user;
  std::int64_t issued_at = 0;          // the password (or REMOTE_USER) sign-in
  std::int64_t last_used = 0;          // the last sign-in from this session
  std::string key_id;                  // set by parse/issue
};

// The structure alone, no MAC check: for log lines about a value the broker
// has verified already, and for the fuzzer. nullopt for anything malformed.
std::optional<Session> parse_session_unverified(std::string_view value);

enum class SessionCheck { ok, malformed, unknown_key, forged, wrong_profile, future, expired, idle };
const char* to_string(SessionCheck c);

struct SessionVerdict {
  SessionCheck check = SessionCheck::malformed;
  Session session;                     // filled when check is ok (and for expired/idle/wrong_profile, for logs)
  bool ok() const { return check == SessionCheck::ok; }
};

class SessionKeys {
 public:
  // session.key_file, and session.previous_key_file when set and present
  // (a previous key file that is gone is no previous key). Both with the
  // Zendesk secret's permission checks; at least kMinSessionKey bytes.
  static Result<SessionKeys> load(const SessionConfig& cfg);
  static Result<SessionKeys> from_secrets(const Secret& current, const Secret* previous);

  // A new cookie value signed with the current key (s.key_id is ignored).
  Result<std::string> issue(const Session& s);
  // Parses, picks the key by id, checks the MAC, the profile and the lifetimes.
  SessionVerdict verify(std::string_view value, std::string_view profile, std::int64_t now,
                        const SessionConfig& limits);
  const std::string& current_id() const { return current_.id; }

 private:
  struct Key {
    std::string id;
    std::unique_ptr<Hs256Key> mac;
  };
  static Result<Key> derive(const Secret& file_key);
  Key current_;
  std::optional<Key> previous_;
};

// A fresh key for a key file: 32 bytes from RAND_bytes, base64url (43 characters).
Result<std::string> new_session_key_text();

}  // namespace zsso
