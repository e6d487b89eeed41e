// SPDX-License-Identifier: BSD-3-Clause
#include "zsso/session_cookie.hpp"

#include <algorithm>
#include <array>

#include "zsso/base64url.hpp"
#include "zsso/broker_protocol.hpp"
#include "zsso/text.hpp"

namespace zsso {

namespace {

constexpr std::string_view kVersion = "2";
constexpr std::string_view kOldVersion = "1";
constexpr std::size_t kMaxSeconds = 12;   // decimal digits of a time (year 33658 and below)

bool is_profile_text(std::string_view n) {
  if (n.size() > 64) return false;
  return std::all_of(n.begin(), n.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
  });
}

bool is_user_text(std::string_view u) {
  return !u.empty() && u.size() <= broker::kMaxUser && is_valid_utf8(u) && !has_control_chars(u);
}

std::optional<std::int64_t> parse_seconds(std::string_view s) {
  if (s.empty() || s.size() > kMaxSeconds || (s.size() > 1 && s.front() == '0')) return std::nullopt;
  std::int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v;
}

bool is_lower_hex(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

// "n", or "p" or "k" and the base64url of kSessionBoundBytes bytes.
bool is_bound_text(std::string_view b) {
  if (b == "n") return true;
  if (b.size() < 2 || (b.front() != 'p' && b.front() != 'k')) return false;
  auto raw = base64url_decode(b.substr(1));
  return raw && raw->size() == kSessionBoundBytes && base64url_encode(*raw) == b.substr(1);
}

// The value split at its dots: exactly eight parts.
std::optional<std::array<std::string_view, 8>> split(std::string_view v) {
  std::array<std::string_view, 8> parts;
  std::size_t i = 0;
  while (true) {
    auto dot = v.find('.');
    if (i == parts.size() - 1) {
      if (dot != std::string_view::npos) return std::nullopt;
      parts[i] = v;
      return parts;
    }
    if (dot == std::string_view::npos) return std::nullopt;
    parts[i++] = v.substr(0, dot);
    v.remove_prefix(dot + 1);
  }
}

}  // namespace

std::optional<SessionCookieParts> parse_session_cookie(std::string_view value) {
  if (value.empty() || value.size() > kMaxSessionCookie) return std::nullopt;
  auto parts = split(value);
  if (!parts) return std::nullopt;
  auto& p = *parts;
  if (p[0] != kVersion || p[1].size() != 2 * kSessionKeyIdBytes || !is_lower_hex(p[1])) return std::nullopt;
  auto issued = parse_seconds(p[2]);
  auto last = parse_seconds(p[3]);
  if (!issued || !last || *last < *issued) return std::nullopt;
  auto profile = base64url_decode(p[4]);
  auto user = base64url_decode(p[5]);
  auto mac = base64url_decode(p[7]);
  if (!profile || !user || !mac || mac->size() != kSessionMac) return std::nullopt;
  if (!is_profile_text(*profile) || !is_user_text(*user) || !is_bound_text(p[6])) return std::nullopt;
  SessionCookieParts out;
  out.session.profile = std::move(*profile);
  out.session.user = std::move(*user);
  out.session.issued_at = *issued;
  out.session.last_used = *last;
  out.session.key_id = std::string(p[1]);
  out.session.bound = std::string(p[6]);
  out.signed_part = value.substr(0, value.size() - p[7].size() - 1);
  out.mac = std::move(*mac);
  return out;
}

std::optional<std::string> session_signed_part(const Session& s, std::string_view key_id) {
  if (!is_profile_text(s.profile) || !is_user_text(s.user) || s.issued_at < 0 || s.last_used < s.issued_at ||
      std::to_string(s.last_used).size() > kMaxSeconds || !is_bound_text(s.bound))
    return std::nullopt;
  return std::string(kVersion) + "." + std::string(key_id) + "." + std::to_string(s.issued_at) + "." +
         std::to_string(s.last_used) + "." + base64url_encode(s.profile) + "." + base64url_encode(s.user) + "." +
         s.bound;
}

std::string session_cookie_name(std::string_view profile) {
  std::string n = "__Host-zsso_session";
  if (!profile.empty()) {
    n += '_';   // appended piece by piece: gcc 12's -O3 flags "_" + std::string as -Wrestrict
    n += profile;
  }
  return n;
}

const char* to_string(SessionCheck c) {
  switch (c) {
    case SessionCheck::ok: return "ok";
    case SessionCheck::malformed: return "malformed";
    case SessionCheck::unknown_key: return "signed with a key no longer accepted";
    case SessionCheck::forged: return "bad signature";
    case SessionCheck::wrong_profile: return "issued for another profile";
    case SessionCheck::future: return "issued in the future";
    case SessionCheck::expired: return "past session.max_seconds";
    case SessionCheck::idle: return "unused for longer than session.idle_seconds";
    case SessionCheck::old_format: return "made by an older version (sign in again)";
    case SessionCheck::credential_changed: return "the password changed since the sign-in (or its hash is no longer readable), or the security key that made it is gone";
  }
  return "?";
}

bool is_old_session_format(std::string_view value) {
  return value.size() > kOldVersion.size() && value.substr(0, kOldVersion.size()) == kOldVersion &&
         value[kOldVersion.size()] == '.';
}

std::optional<Session> parse_session_unverified(std::string_view value) {
  auto p = parse_session_cookie(value);
  if (!p) return std::nullopt;
  return std::move(p->session);
}

}  // namespace zsso
