// SPDX-License-Identifier: BSD-3-Clause
#include "zsso/session.hpp"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <vector>

#include "zsso/base64url.hpp"
#include "zsso/broker_protocol.hpp"
#include "zsso/text.hpp"

namespace zsso {

namespace {

constexpr std::string_view kVersion = "1";
constexpr std::string_view kMacLabel = "zendesk-sso session v1";
constexpr std::string_view kIdLabel = "zendesk-sso session key id v1";
constexpr std::size_t kMac = 32;
constexpr std::size_t kIdBytes = 4;
constexpr std::size_t kMaxSeconds = 12;   // decimal digits of a time (year 33658 and below)

std::string hex(const unsigned char* p, std::size_t n) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < n; ++i) {
    out += kHex[p[i] >> 4];
    out += kHex[p[i] & 15];
  }
  return out;
}

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

// The value split at its dots: exactly seven parts.
std::optional<std::array<std::string_view, 7>> split(std::string_view v) {
  std::array<std::string_view, 7> parts;
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

struct Parsed {
  Session s;
  std::string_view signed_part;
  std::string mac;
};

std::optional<Parsed> parse(std::string_view value) {
  if (value.empty() || value.size() > kMaxSessionCookie) return std::nullopt;
  auto parts = split(value);
  if (!parts) return std::nullopt;
  auto& p = *parts;
  if (p[0] != kVersion || p[1].size() != 2 * kIdBytes || !is_lower_hex(p[1])) return std::nullopt;
  auto issued = parse_seconds(p[2]);
  auto last = parse_seconds(p[3]);
  if (!issued || !last || *last < *issued) return std::nullopt;
  auto profile = base64url_decode(p[4]);
  auto user = base64url_decode(p[5]);
  auto mac = base64url_decode(p[6]);
  if (!profile || !user || !mac || mac->size() != kMac) return std::nullopt;
  if (!is_profile_text(*profile) || !is_user_text(*user)) return std::nullopt;
  Parsed out;
  out.s.profile = std::move(*profile);
  out.s.user = std::move(*user);
  out.s.issued_at = *issued;
  out.s.last_used = *last;
  out.s.key_id = std::string(p[1]);
  out.signed_part = value.substr(0, value.size() - p[6].size() - 1);
  out.mac = std::move(*mac);
  return out;
}

}  // namespace

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
  }
  return "?";
}

std::optional<Session> parse_session_unverified(std::string_view value) {
  auto p = parse(value);
  if (!p) return std::nullopt;
  return std::move(p->s);
}

Result<SessionKeys::Key> SessionKeys::derive(const Secret& file_key) {
  if (file_key.size() < kMinSessionKey)
    return Error{"shorter than " + std::to_string(kMinSessionKey) + " bytes (make one with `zendesk-sso session revoke-all`)"};
  Hs256Key outer(file_key);
  unsigned char derived[kMac], id[kMac];
  if (!outer.valid() || !outer.mac(kMacLabel, derived) || !outer.mac(kIdLabel, id)) return Error{"HMAC setup failed"};
  Secret key(std::string_view(reinterpret_cast<const char*>(derived), kMac));
  secure_wipe(derived, sizeof derived);
  Key k;
  k.id = hex(id, kIdBytes);
  k.mac = std::make_unique<Hs256Key>(key);
  if (!k.mac->valid()) return Error{"HMAC setup failed"};
  return k;
}

Result<SessionKeys> SessionKeys::from_secrets(const Secret& current, const Secret* previous) {
  auto cur = derive(current);
  if (!cur) return Error{"session key: " + cur.error()};
  SessionKeys keys;
  keys.current_ = std::move(*cur);
  if (previous) {
    auto prev = derive(*previous);
    if (!prev) return Error{"previous session key: " + prev.error()};
    // A previous key equal to the current one is no second key.
    if (prev->id != keys.current_.id) keys.previous_ = std::move(*prev);
  }
  return keys;
}

Result<SessionKeys> SessionKeys::load(const SessionConfig& cfg) {
  if (cfg.key_file.empty()) return Error{"session.key_file is not set"};
  auto cur = load_secret_file(cfg.key_file);
  if (!cur) return Error{cur.error()};
  std::optional<Secret> prev;
  if (!cfg.previous_key_file.empty()) {
    struct stat st{};
    // Removing the previous key file ends the grace period; nothing else may be wrong with it.
    if (::lstat(cfg.previous_key_file.c_str(), &st) == 0 || errno != ENOENT) {
      auto p = load_secret_file(cfg.previous_key_file);
      if (!p) return Error{p.error()};
      prev = std::move(*p);
    }
  }
  auto keys = from_secrets(*cur, prev ? &*prev : nullptr);
  if (!keys) return Error{cfg.key_file + ": " + keys.error()};
  return keys;
}

Result<std::string> SessionKeys::issue(const Session& s) {
  if (!is_profile_text(s.profile) || !is_user_text(s.user) || s.issued_at < 0 || s.last_used < s.issued_at ||
      std::to_string(s.last_used).size() > kMaxSeconds)
    return Error{"session fields out of range"};
  std::string v = std::string(kVersion) + "." + current_.id + "." + std::to_string(s.issued_at) + "." +
                  std::to_string(s.last_used) + "." + base64url_encode(s.profile) + "." + base64url_encode(s.user);
  unsigned char mac[kMac];
  if (!current_.mac->mac(v, mac)) return Error{"HMAC failed"};
  v += ".";
  base64url_encode_append(v, mac, kMac);
  if (v.size() > kMaxSessionCookie) return Error{"session cookie too long"};
  return v;
}

SessionVerdict SessionKeys::verify(std::string_view value, std::string_view profile, std::int64_t now,
                                   const SessionConfig& limits) {
  SessionVerdict out;
  auto p = parse(value);
  if (!p) return out;
  Key* key = nullptr;
  if (p->s.key_id == current_.id) key = &current_;
  else if (previous_ && p->s.key_id == previous_->id) key = &*previous_;
  if (!key) {
    out.check = SessionCheck::unknown_key;
    return out;
  }
  unsigned char expect[kMac];
  if (!key->mac->mac(p->signed_part, expect) || CRYPTO_memcmp(expect, p->mac.data(), kMac) != 0) {
    out.check = SessionCheck::forged;
    return out;
  }
  out.session = std::move(p->s);
  const Session& s = out.session;
  if (s.profile != profile) out.check = SessionCheck::wrong_profile;
  else if (s.last_used > now + kSessionFutureSkew) out.check = SessionCheck::future;
  else if (limits.max_seconds <= 0 || now - s.issued_at >= limits.max_seconds) out.check = SessionCheck::expired;
  else if (limits.idle_seconds > 0 && now - s.last_used >= limits.idle_seconds) out.check = SessionCheck::idle;
  else out.check = SessionCheck::ok;
  return out;
}

Result<std::string> new_session_key_text() {
  unsigned char raw[32];
  if (RAND_bytes(raw, sizeof raw) != 1) return Error{"RAND_bytes failed"};
  std::string out;
  base64url_encode_append(out, raw, sizeof raw);
  secure_wipe(raw, sizeof raw);
  return out;
}

}  // namespace zsso
