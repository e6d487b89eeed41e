// SPDX-License-Identifier: BSD-3-Clause
#include "enrol_step.hpp"

#include <openssl/rand.h>
#include <syslog.h>

#include <algorithm>
#include <ctime>

#include "invites.hpp"
#include "key_step.hpp"
#include "store.hpp"
#include "webauthn.hpp"
#include "zsso/text.hpp"

namespace zsso::authd {

namespace {

namespace wire = zsso::broker;

LoginOutcome decision(LoginStatus status, std::string why) { return {status, {}, std::move(why)}; }

// Today's UTC date as "YYYY-MM-DD", the form webauthn.tofu_until is in.
std::string utc_date(std::int64_t now) {
  std::time_t t = static_cast<std::time_t>(now);
  std::tm tm{};
  if (!::gmtime_r(&t, &tm)) return "9999-12-31";   // no date: as if every date had passed
  char buf[16];
  std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
  return buf;
}

bool random_bytes(std::string& out, std::size_t n) {
  out.resize(n);
  return RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) == 1;
}

}  // namespace

std::vector<wire::KeyListEntry> key_list(const std::vector<authfile::Credential>& keys) {
  std::vector<std::string> ids;
  for (const auto& k : keys) ids.push_back(authfile::credential_id(k));
  const auto shown = authfile::short_ids(ids);
  std::vector<wire::KeyListEntry> out;
  for (std::size_t i = 0; i < keys.size() && out.size() < wire::kMaxKeyCredentials; ++i)
    out.push_back({shown[i].substr(0, wire::kMaxKeyIdText), std::string(authfile::type_name(keys[i].type))});
  return out;
}

bool first_key_without_invite(const WebauthnConfig& cfg, bool other_factor, std::int64_t now) {
  switch (cfg.first_key) {
    case WebauthnConfig::FirstKey::invite: return false;
    case WebauthnConfig::FirstKey::second_factor: return other_factor;
    case WebauthnConfig::FirstKey::tofu: return !cfg.tofu_until.empty() && utc_date(now) <= cfg.tofu_until;
  }
  return false;
}

EnrolStep::EnrolStep(const WebauthnConfig& cfg, std::string user, Ask ask, Log log)
    : cfg_(cfg), user_(std::move(user)), ask_(std::move(ask)), log_(std::move(log)) {}

EnrolStep::Outcome EnrolStep::run(const std::vector<authfile::Credential>& existing, bool other_factor,
                                  std::int64_t started) {
  Outcome out;
  // A key holder proved one of these keys in this conversation's key step:
  // that is what lets them add another. Someone without one needs the
  // admin's first-key route; an invite code always is one.
  const bool invite_needed = existing.empty() && !first_key_without_invite(cfg_, other_factor, started);

  wire::KeyRegistration reg;
  if (!random_bytes(reg.challenge, wire::kKeyChallengeSize) || !random_bytes(reg.user_handle, 32)) {
    out.login = decision(LoginStatus::unavailable, "RAND_bytes failed: no registration challenge");
    return out;
  }
  reg.rp_id = cfg_.rp_id;
  reg.user_verification = wire_verification(cfg_.user_verification);
  reg.invite_needed = invite_needed;
  reg.user_name = user_;
  for (const auto& k : existing)
    if (!k.resident() && k.key_handle.size() <= wire::kMaxCredentialId && reg.exclude_ids.size() < wire::kMaxKeyCredentials)
      reg.exclude_ids.push_back(k.key_handle);

  wire::KeyRegistrationAnswer got;
  std::string removal;
  if (!ask_(reg, key_list(existing), got, removal)) {
    out.login = decision(LoginStatus::gone, "no answer to the key registration step");
    return out;
  }
  const auto now = static_cast<std::int64_t>(::time(nullptr));
  if (now - started > kEnrolFreshnessSeconds) {
    out.login = decision(LoginStatus::gone, "the re-authentication is older than " + std::to_string(kEnrolFreshnessSeconds) +
                                              " s: no key added (start again)");
    return out;
  }
  if (!removal.empty()) return remove(existing, removal);

  const webauthn::RelyingParty rp{cfg_.rp_id, cfg_.origins,
                                  cfg_.user_verification == WebauthnConfig::Verification::required};
  webauthn::RegistrationPolicy policy;
  for (const auto& uuid : cfg_.aaguids)
    if (auto bytes = aaguid_bytes(uuid)) policy.aaguid_allow.push_back(std::move(*bytes));  // checked at load
  auto checked = webauthn::verify_registration(rp, reg.challenge, got.client_data_json, got.attestation_object, policy);
  if (!checked) {
    out.login = decision(LoginStatus::bad_login, "security key registration refused (" +
                                                   std::string(webauthn::refusal_name(checked.refused.reason)) +
                                                   "): " + checked.refused.detail);
    return out;
  }
  const webauthn::Registration& key = *checked.value;
  for (const auto& k : existing)
    if ((!k.resident() && k.key_handle == key.credential_id) || k.public_key == key.public_key) {
      out.login = decision(LoginStatus::bad_login, "security key registration refused (already enrolled): the account has "
                                                 "this credential");
      return out;
    }

  if (invite_needed) {
    if (got.invite_code.empty()) {
      out.invite_refused = true;
      out.login = decision(LoginStatus::bad_login, "security key registration refused (invite code missing): a first key "
                                                 "needs an invite code (webauthn.first_key)");
      return out;
    }
    if (auto redeemed = authfile::redeem_invite(cfg_.authfile, user_, got.invite_code, now); !redeemed) {
      out.invite_refused = true;
      out.login = decision(LoginStatus::bad_login, "security key registration refused (invite code): " + redeemed.error());
      return out;
    }
  }

  authfile::Credential cred;
  cred.key_handle = key.credential_id;
  cred.public_key = key.public_key;
  cred.type = key.alg;
  cred.presence = true;
  cred.verification = cfg_.user_verification == WebauthnConfig::Verification::required;
  authfile::SideRecord side;
  side.user = user_;
  side.sign_count = key.sign_count;
  side.user_handle = reg.user_handle;
  side.added = now;
  auto added = authfile::add_key(cfg_.authfile, user_, cred, side);
  if (!added) {
    out.login = decision(LoginStatus::unavailable, "webauthn.authfile: the key was not added: " + added.error());
    return out;
  }
  const std::string how = !existing.empty() ? "a key of the account proven"
                          : invite_needed  ? "invite code"
                          : cfg_.first_key == WebauthnConfig::FirstKey::tofu ? "first key before webauthn.tofu_until"
                                                                             : "first key after the stack's second factor";
  std::vector<authfile::Credential> now_held = existing;
  now_held.push_back(cred);
  out.keys = key_list(now_held);
  out.login = decision(LoginStatus::ok, "security key added: " + std::string(authfile::type_name(key.alg)) + " " +
                                          out.keys.back().id + " (" + key.fmt + (key.self_attested ? ", self" : "") +
                                          " attestation; " + how + ")");
  return out;
}

EnrolStep::Outcome EnrolStep::remove(const std::vector<authfile::Credential>& existing, const std::string& id) {
  Outcome out;
  // Only an id the page listed: the short ids are prefixes of the account's own keys.
  const auto listed = key_list(existing);
  if (std::none_of(listed.begin(), listed.end(), [&](const wire::KeyListEntry& k) { return k.id == id; })) {
    out.login = decision(LoginStatus::error, "security key removal refused: " + quote_for_log(id, 64) +
                                                 " is not one of the account's keys");
    return out;
  }
  auto removed = authfile::remove_keys(cfg_.authfile, user_, {false, id});
  if (!removed) {
    out.login = decision(LoginStatus::unavailable, "webauthn.authfile: the key was not removed: " + removed.error());
    return out;
  }
  std::vector<authfile::Credential> left;
  for (const auto& k : existing)
    if (std::none_of(removed->begin(), removed->end(), [&](const authfile::KeyInfo& r) {
          return r.credential.public_key == k.public_key;
        }))
      left.push_back(k);
  out.keys = key_list(left);
  out.login = decision(LoginStatus::ok, "security key removed: " + id + " (its sessions end at their next use)");
  return out;
}

}  // namespace zsso::authd
