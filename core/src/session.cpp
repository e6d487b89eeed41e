// SPDX-License-Identifier: BSD-3-Clause
#include "zsso/session.hpp"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <sys/stat.h>

#include <cerrno>

#include "zsso/base64url.hpp"
#include "zsso/text.hpp"

namespace zsso {

namespace {
constexpr std::string_view kMacLabel = "zendesk-sso session v1";
constexpr std::string_view kIdLabel = "zendesk-sso session key id v1";
constexpr std::string_view kPasswordLabel = "zendesk-sso session password v2";
constexpr std::string_view kKeyLabel = "zendesk-sso session key v1";
constexpr std::size_t kMac = kSessionMac;
}  // namespace

Result<SessionKeys::Key> SessionKeys::derive(const Secret& file_key) {
  if (file_key.size() < kMinSessionKey)
    return Error{"shorter than " + std::to_string(kMinSessionKey) + " bytes (make one with `zendesk-sso session revoke-all`)"};
  Hs256Key outer(file_key);
  unsigned char derived[kMac], id[kMac];
  if (!outer.valid() || !outer.mac(kMacLabel, derived) || !outer.mac(kIdLabel, id)) return Error{"HMAC setup failed"};
  Secret key(std::string_view(reinterpret_cast<const char*>(derived), kMac));
  secure_wipe(derived, sizeof derived);
  Key k;
  k.id = hex_lower({id, kSessionKeyIdBytes});
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
  auto cur = load_secret_file(cfg.key_file, kSessionKeyHolds);
  if (!cur) return Error{cur.error()};
  std::optional<Secret> prev;
  if (!cfg.previous_key_file.empty()) {
    struct stat st{};
    // Removing the previous key file ends the grace period; nothing else may be wrong with it.
    if (::lstat(cfg.previous_key_file.c_str(), &st) == 0 || errno != ENOENT) {
      auto p = load_secret_file(cfg.previous_key_file, "the previous session key (or remove the file)");
      if (!p) return Error{p.error()};
      prev = std::move(*p);
    }
  }
  auto keys = from_secrets(*cur, prev ? &*prev : nullptr);
  if (!keys) return Error{cfg.key_file + ": " + keys.error()};
  return keys;
}

std::optional<std::string> SessionKeys::bound_to(Key& k, const std::string& user, const SessionCredential& cred,
                                                 std::string_view public_key) {
  const bool password = cred.kind == SessionCredential::Kind::password;
  if (public_key.empty() && !password) return std::string("n");
  // The hash is already one-way; keyed, so the cookie gives no offline test
  // of a guessed password, and tied to the user so it cannot be moved.
  SecureBytes input;
  auto add = [&](std::string_view part) { input.insert(input.end(), part.begin(), part.end()); };
  add(public_key.empty() ? kPasswordLabel : kKeyLabel);
  input.push_back('\0');
  add(user);
  input.push_back('\0');
  if (!public_key.empty()) add(password ? "p" : "n");  // a hash that appears or goes is a change too
  add(cred.password_hash);
  if (!public_key.empty()) {
    input.push_back('\0');
    add(public_key);
  }
  unsigned char mac[kMac];
  const bool ok = k.mac->mac({reinterpret_cast<const char*>(input.data()), input.size()}, mac);
  if (!ok) return std::nullopt;
  std::string out = public_key.empty() ? "p" : "k";
  base64url_encode_append(out, mac, kSessionBoundBytes);
  secure_wipe(mac, sizeof mac);
  return out;
}

Result<std::string> SessionKeys::issue(const Session& s_in, const SessionCredential& cred) {
  Session s = s_in;
  auto bound = bound_to(current_, s.user, cred, cred.key);
  if (!bound) return Error{"HMAC failed"};
  s.bound = std::move(*bound);
  auto signed_part = session_signed_part(s, current_.id);
  if (!signed_part) return Error{"session fields out of range"};
  std::string v = std::move(*signed_part);
  unsigned char mac[kMac];
  if (!current_.mac->mac(v, mac)) return Error{"HMAC failed"};
  v += ".";
  base64url_encode_append(v, mac, kMac);
  if (v.size() > kMaxSessionCookie) return Error{"session cookie too long"};
  return v;
}

SessionVerdict SessionKeys::verify(std::string_view value, std::string_view profile, std::int64_t now,
                                   const SessionConfig& limits, const SessionCredential& cred) {
  SessionVerdict out;
  auto p = parse_session_cookie(value);
  if (!p) {
    if (is_old_session_format(value)) out.check = SessionCheck::old_format;
    return out;
  }
  Key* key = nullptr;
  if (p->session.key_id == current_.id) key = &current_;
  else if (previous_ && p->session.key_id == previous_->id) key = &*previous_;
  if (!key) {
    out.check = SessionCheck::unknown_key;
    return out;
  }
  unsigned char expect[kMac];
  if (!key->mac->mac(p->signed_part, expect) || CRYPTO_memcmp(expect, p->mac.data(), kMac) != 0) {
    out.check = SessionCheck::forged;
    return out;
  }
  out.session = std::move(p->session);
  const Session& s = out.session;
  if (s.profile != profile) out.check = SessionCheck::wrong_profile;
  else if (s.last_used > now + kSessionFutureSkew) out.check = SessionCheck::future;
  else if (limits.max_seconds <= 0 || now - s.issued_at >= limits.max_seconds) out.check = SessionCheck::expired;
  else if (limits.idle_seconds > 0 && now - s.last_used >= limits.idle_seconds) out.check = SessionCheck::idle;
  else out.check = SessionCheck::ok;
  if (out.check == SessionCheck::ok) {
    // With the key that signed the value (a previous key's sessions stay bound too).
    auto same = [&](std::string_view public_key) {
      auto expect_bound = bound_to(*key, s.user, cred, public_key);
      return expect_bound && expect_bound->size() == s.bound.size() &&
             CRYPTO_memcmp(expect_bound->data(), s.bound.data(), s.bound.size()) == 0;
    };
    bool held = false;
    if (s.bound.front() == 'k') {
      // The security key that made it: one of the account's keys now (few; each one HMAC).
      for (const auto& k : cred.keys)
        if (!k.empty() && same(k)) {
          held = true;
          out.key = k;
          break;
        }
    } else {
      held = same({});
    }
    if (!held) out.check = SessionCheck::credential_changed;
  }
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
