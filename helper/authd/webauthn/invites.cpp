// SPDX-License-Identifier: BSD-3-Clause
#include "invites.hpp"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <map>
#include <nlohmann/json.hpp>

#include "store.hpp"
#include "zsso/base64url.hpp"

namespace zsso::authfile {

namespace {

// No 0/O, 1/I/L: read aloud or typed from a note without doubt.
constexpr std::string_view kAlphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ";  // 31 symbols

struct Invite {
  std::string digest;  // SHA-256(user NUL code), raw
  std::int64_t expires = 0;
};
using Invites = std::map<std::string, Invite>;

// The code as typed, or empty when it cannot be one (wrong length or letters).
std::string normalise(std::string_view typed) {
  std::string out;
  for (char c : typed) {
    if (c == '-' || c == ' ') continue;
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    if (kAlphabet.find(c) == std::string_view::npos || out.size() == kInviteCodeChars) {
      OPENSSL_cleanse(out.data(), out.size());
      return {};
    }
    out.push_back(c);
  }
  if (out.size() != kInviteCodeChars) {
    OPENSSL_cleanse(out.data(), out.size());
    return {};
  }
  return out;
}

std::string digest_of(std::string_view user, const std::string& code) {
  std::string input(user);
  input.push_back('\0');
  input += code;
  std::string out(SHA256_DIGEST_LENGTH, '\0');
  SHA256(reinterpret_cast<const unsigned char*>(input.data()), input.size(), reinterpret_cast<unsigned char*>(out.data()));
  OPENSSL_cleanse(input.data(), input.size());
  return out;
}

Result<Invites> load(const std::string& path) {
  auto text = read_store_file(path);
  if (!text) return Error{text.error()};
  Invites invites;
  if (text->empty()) return invites;
  auto j = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
  auto v = j.is_object() ? j.find("version") : j.end();
  auto all = j.is_object() ? j.find("invites") : j.end();
  if (j.is_discarded() || !j.is_object() || v == j.end() || *v != 1 || all == j.end() || !all->is_object())
    return Error{path + ": not a version 1 invites file"};
  for (auto it = all->begin(); it != all->end(); ++it) {
    const auto& r = it.value();
    auto d = r.is_object() ? r.find("sha256") : r.end();
    auto e = r.is_object() ? r.find("expires") : r.end();
    if (d == r.end() || !d->is_string() || e == r.end() || !e->is_number_integer())
      return Error{path + ": an invite without sha256 and expires"};
    auto raw = base64url_decode(d->get<std::string>());
    if (!raw || raw->size() != SHA256_DIGEST_LENGTH) return Error{path + ": an invite's sha256 is not base64url of 32 bytes"};
    invites[it.key()] = Invite{*raw, e->get<std::int64_t>()};
  }
  return invites;
}

Result<void> save(const std::string& path, const Invites& invites) {
  nlohmann::json all = nlohmann::json::object();
  for (const auto& [user, inv] : invites)
    all[user] = {{"sha256", base64url_encode(inv.digest)}, {"expires", inv.expires}};
  return replace_store_file(path, nlohmann::json{{"version", 1}, {"invites", std::move(all)}}.dump(2) + "\n", 0600);
}

}  // namespace

std::string invites_path(const std::string& authfile) { return authfile + ".invites.json"; }

InviteCode::~InviteCode() { OPENSSL_cleanse(text.data(), text.size()); }

Result<InviteCode> create_invite(const std::string& authfile_path, const std::string& user, int minutes,
                                 std::int64_t now) {
  if (minutes < 1 || minutes > kInviteMaxMinutes)
    return Error{"an invite lasts 1 to " + std::to_string(kInviteMaxMinutes) + " minutes"};
  if (!valid_user_name(user)) return Error{"user name empty or holds ':', ',' or spaces"};
  std::string code;
  while (code.size() < kInviteCodeChars) {
    unsigned char b[16];
    if (RAND_bytes(b, sizeof b) != 1) return Error{"RAND_bytes failed: no invite"};
    for (unsigned char x : b)  // 0..247 is 8 whole rounds of 31: no bias
      if (x < 248 && code.size() < kInviteCodeChars) code.push_back(kAlphabet[x % kAlphabet.size()]);
    OPENSSL_cleanse(b, sizeof b);
  }
  InviteCode out;
  out.expires = now + static_cast<std::int64_t>(minutes) * 60;
  for (std::size_t i = 0; i < code.size(); i += 4) out.text += (i ? "-" : "") + code.substr(i, 4);
  Invite inv{digest_of(user, code), out.expires};
  OPENSSL_cleanse(code.data(), code.size());

  const std::string path = invites_path(authfile_path);
  StoreLock lock(authfile_path);
  if (!lock.error().empty()) return Error{lock.error()};
  auto invites = load(path);
  if (!invites) return Error{invites.error()};
  for (auto it = invites->begin(); it != invites->end();)  // expired ones go on every write
    it = it->second.expires <= now ? invites->erase(it) : std::next(it);
  (*invites)[user] = std::move(inv);
  if (auto saved = save(path, *invites); !saved) return Error{saved.error()};
  return out;
}

Result<void> redeem_invite(const std::string& authfile_path, std::string_view user, std::string_view code,
                           std::int64_t now) {
  const std::string path = invites_path(authfile_path);
  StoreLock lock(authfile_path);
  if (!lock.error().empty()) return Error{lock.error()};
  auto invites = load(path);
  if (!invites) return Error{invites.error()};
  auto it = invites->find(std::string(user));
  if (it == invites->end()) return Error{"invalid enrolment code"};
  if (it->second.expires <= now) {
    invites->erase(it);
    if (auto saved = save(path, *invites); !saved) return Error{saved.error()};
    return Error{"enrolment code expired"};
  }
  std::string typed = normalise(code);
  // A malformed code is compared too (as an empty one): the same path for every guess.
  std::string digest = digest_of(user, typed);
  OPENSSL_cleanse(typed.data(), typed.size());
  const bool match = CRYPTO_memcmp(digest.data(), it->second.digest.data(), SHA256_DIGEST_LENGTH) == 0;
  if (!match) return Error{"invalid enrolment code"};
  invites->erase(it);
  return save(path, *invites);  // not saved: not redeemed (it must not be usable twice)
}

bool has_invite(const std::string& authfile_path, std::string_view user, std::int64_t now) {
  auto invites = load(invites_path(authfile_path));
  if (!invites) return false;
  auto it = invites->find(std::string(user));
  return it != invites->end() && it->second.expires > now;
}

}  // namespace zsso::authfile
