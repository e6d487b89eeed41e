// SPDX-License-Identifier: BSD-3-Clause
// Sign-in sessions (issue 13): a stateless cookie that says "this browser
// signed in as USER for PROFILE at ISSUED, last used at LAST", authenticated
// with a key every web host (or broker) behind one balancer shares.
//
//   value = "2" "." kid "." issued "." last "." b64url(profile) "." b64url(user) "." bound "." b64url(mac)
//   kid   = hex of the first 4 bytes of HMAC-SHA256(file key, "zendesk-sso session key id v1")
//   mac   = HMAC-SHA256(HMAC-SHA256(file key, "zendesk-sso session v1"), everything before the last ".")
//   bound = what the session is bound to, the credential its sign-in proved (issue 22, point 6):
//           "p" b64url(first 16 bytes of HMAC-SHA256(the same MAC key,
//                      "zendesk-sso session password v2" NUL user NUL shadow hash))
//             a local account's password: a change or reset (a new sp_pwdp) ends the session;
//           "n" no credential the broker can read (directory accounts, direct mode);
//           "k" b64url(first 16 bytes of HMAC-SHA256(the same MAC key,
//                      "zendesk-sso session key v1" NUL user NUL ("p" shadow hash | "n") NUL
//                      the security key's public key))
//             a sign-in whose security-key step passed (issue 23): bound to the
//             password as "p" is (or to nothing readable, "n") AND to that key, so
//             removing the key (zendesk-sso keys remove) ends the session too.
//
// Version 1 values (no "bound") are refused as old_format: sign in again.
// issued and last are decimal seconds since the epoch. The value carries no
// secret; anything changed in it fails the MAC (compared in constant time).
// The key id only picks which key to try (current or previous, during a
// rotation): it is not trusted for anything else. Every use re-runs the
// account checks; this only says who signed in and when.
//
// This header is the cookie's format alone - names, limits, parsing - with
// no key and no OpenSSL, for the CGI (issue 16). Signing and verifying are
// zsso/session.hpp's SessionKeys, in zsso_crypto.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace zsso {

inline constexpr std::size_t kMaxSessionCookie = 1024;      // longer values are refused unread
inline constexpr std::size_t kMinSessionKey = 32;           // bytes in the key file
inline constexpr std::int64_t kSessionFutureSkew = 60;      // hosts behind a balancer disagree a little
inline constexpr std::size_t kSessionMac = 32;              // HMAC-SHA256
inline constexpr std::size_t kSessionKeyIdBytes = 4;        // kid is twice as many hex digits

// "__Host-zsso_session", or "__Host-zsso_session_PROFILE" for a profile: a
// browser can hold a team-member and an end-user session side by side.
std::string session_cookie_name(std::string_view profile);

struct Session {
  std::string profile;                 // "" = base configuration
  std::string user;
  std::int64_t issued_at = 0;          // the password (or REMOTE_USER) sign-in
  std::int64_t last_used = 0;          // the last sign-in from this session
  std::string key_id;                  // set by parse/issue
  std::string bound;                   // the "bound" field (set by parse/issue; see above)
};

// What a session is bound to, read where it is signed and verified (the
// broker): the seam for every credential kind the "bound" field can carry.
struct SessionCredential {
  enum class Kind { none, password };
  Kind kind = Kind::none;
  std::string password_hash;           // kind password: the account's shadow hash (sp_pwdp)
  // Issuing: the public key (raw, as the authfile holds it) of the security
  // key the sign-in proved; "" when none did (a "p"/"n" session).
  std::string key;
  // Verifying a "k" session: the account's keys now; it holds while one of
  // them is the key that made it.
  std::vector<std::string> keys;
};

inline constexpr std::size_t kSessionBoundBytes = 16;

// The structure alone, no MAC check: for log lines about a value the broker
// has verified already, and for the fuzzer. nullopt for anything malformed.
std::optional<Session> parse_session_unverified(std::string_view value);
// A value of the retired version 1 format ("1." ...), told apart for the log.
bool is_old_session_format(std::string_view value);

// A value taken apart for SessionKeys::verify: the fields, the bytes the MAC
// covers (a view into the value) and the MAC itself (kSessionMac bytes).
struct SessionCookieParts {
  Session session;
  std::string_view signed_part;
  std::string mac;
};
std::optional<SessionCookieParts> parse_session_cookie(std::string_view value);

// Everything before the MAC for s under key_id ("2.kid.issued.last.profile.user.bound");
// nullopt when a field is out of range (bad profile or user text, times).
std::optional<std::string> session_signed_part(const Session& s, std::string_view key_id);

enum class SessionCheck {
  ok, malformed, unknown_key, forged, wrong_profile, future, expired, idle,
  old_format,          // a version 1 value, from before sessions were bound to a credential
  credential_changed,  // the password was changed or reset since the sign-in (or can no longer be read),
                       // or a "k" session's security key was removed
};
const char* to_string(SessionCheck c);

struct SessionVerdict {
  SessionCheck check = SessionCheck::malformed;
  Session session;                     // filled when check is ok (and for expired/idle/wrong_profile, for logs)
  std::string key;                     // ok for a "k" session: which of SessionCredential::keys made it
  bool ok() const { return check == SessionCheck::ok; }
};

}  // namespace zsso
