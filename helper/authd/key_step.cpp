// SPDX-License-Identifier: BSD-3-Clause
#include "key_step.hpp"

#include <openssl/rand.h>
#include <syslog.h>

#include "authfile.hpp"
#include "store.hpp"
#include "webauthn.hpp"
#include "zsso/account.hpp"
#include "zsso/text.hpp"

namespace zsso::authd {

namespace {

namespace wire = zsso::broker;

LoginOutcome refused(LoginStatus status, std::string why) {
  LoginOutcome o;
  o.status = status;
  o.detail = std::move(why);
  return o;
}

// The side file as it is now ({} when there is none).
Result<authfile::SideFile> read_side(const std::string& side_path) {
  auto text = authfile::read_store_file(side_path);
  if (!text) return Error{text.error()};
  if (text->empty()) return authfile::SideFile{};
  return authfile::parse_side_file(*text);
}

}  // namespace

wire::KeyChallenge::Verification wire_verification(WebauthnConfig::Verification v) {
  switch (v) {
    case WebauthnConfig::Verification::required: return wire::KeyChallenge::Verification::required;
    case WebauthnConfig::Verification::discouraged: return wire::KeyChallenge::Verification::discouraged;
    case WebauthnConfig::Verification::preferred: break;
  }
  return wire::KeyChallenge::Verification::preferred;
}

KeyStep::KeyStep(const WebauthnConfig& cfg, std::string user, Ask ask, Log log)
    : cfg_(cfg), user_(std::move(user)), ask_(std::move(ask)), log_(std::move(log)) {}

std::vector<std::string> KeyStep::pam_env() {
  if (!loaded_) {
    loaded_ = true;
    auto keys = authfile::user_keys(cfg_.authfile, user_);
    if (!keys) {
      load_error_ = "webauthn.authfile " + cfg_.authfile + ": " + keys.error();
      log_(LOG_ERR, load_error_);
    } else {
      keys_ = std::move(*keys);
    }
  }
  // A store that cannot be read proves no key: the stack asks its own factor.
  // A required group's member without a key is refused after the password:
  // no code asked first.
  if (!keys_.empty() || (!enrolment_ && load_error_.empty() && required_group()))
    return {std::string(kKeyHolderEnv) + "=1"};
  return {kKeyHolderEnv};
}

const std::optional<std::string>& KeyStep::required_group() {
  if (group_looked_up_) return required_group_;
  group_looked_up_ = true;
  if (cfg_.required_groups.empty()) return required_group_;
  auto who = lookup_account(user_);
  if (who.status == LookupStatus::error) {
    group_error_ = who.error;
    return required_group_;
  }
  if (who.status == LookupStatus::found)
    for (const auto& g : cfg_.required_groups)
      if (who.account.in_group(g)) {
        required_group_ = g;
        break;
      }
  return required_group_;
}

std::optional<LoginOutcome> KeyStep::prove() {
  pam_env();
  if (!load_error_.empty()) return refused(LoginStatus::unavailable, load_error_ + " (no key can be proven)");
  if (keys_.empty()) {
    if (enrolment_) return std::nullopt;
    const auto& group = required_group();
    if (!group_error_.empty())
      return refused(LoginStatus::unavailable, "webauthn.required_groups: the account's groups cannot be read: " + group_error_);
    if (!group) return std::nullopt;
    LoginOutcome o = refused(LoginStatus::not_allowed, "a member of " + quote_for_log(*group) +
                                                           " (webauthn.required_groups) without a security key in " +
                                                           cfg_.authfile);
    o.key_required = true;
    return o;
  }

  auto fresh = new_challenge();
  if (!fresh) return refused(LoginStatus::unavailable, "RAND_bytes failed: no key challenge");
  wire::KeyChallenge& challenge = *fresh;
  challenge.user_verification = wire_verification(cfg_.user_verification);
  for (const auto& k : keys_)
    if (!k.resident() && k.key_handle.size() <= wire::kMaxCredentialId &&
        challenge.credential_ids.size() < wire::kMaxKeyCredentials)
      challenge.credential_ids.push_back(k.key_handle);

  wire::KeyAssertion answer;
  if (!ask_(challenge, answer)) return refused(LoginStatus::gone, "no answer to the security key step");
  return verify(challenge, answer);
}

std::optional<wire::KeyChallenge> KeyStep::new_challenge() const {
  wire::KeyChallenge challenge;
  challenge.challenge.resize(wire::kKeyChallengeSize);
  if (RAND_bytes(reinterpret_cast<unsigned char*>(challenge.challenge.data()),
                 static_cast<int>(challenge.challenge.size())) != 1)
    return std::nullopt;
  challenge.rp_id = cfg_.rp_id;
  return challenge;
}

std::optional<LoginOutcome> KeyStep::prove_passkey() {
  auto fresh = new_challenge();
  if (!fresh) return refused(LoginStatus::unavailable, "RAND_bytes failed: no key challenge");
  wire::KeyChallenge& challenge = *fresh;
  // No allowed credentials: the authenticator offers its discoverable keys.
  challenge.user_verification = wire::KeyChallenge::Verification::required;
  wire::KeyAssertion answer;
  if (!ask_(challenge, answer)) return refused(LoginStatus::gone, "no answer to the passkey step");
  if (answer.user_handle.empty())
    return refused(LoginStatus::bad_login, "passkey refused (no user handle): the key answered as a key that is not "
                                           "discoverable");
  const std::string side_path = authfile::side_file_path(cfg_.authfile);
  auto side = read_side(side_path);
  if (!side) return refused(LoginStatus::unavailable, "webauthn side file " + side_path + ": " + side.error());
  user_ = authfile::account_for_user_handle(*side, answer.user_handle);
  if (user_.empty())
    return refused(LoginStatus::bad_login, "passkey refused (unknown user handle): no account's key has it");
  auto keys = authfile::user_keys(cfg_.authfile, user_);
  if (!keys) return refused(LoginStatus::unavailable, "webauthn.authfile " + cfg_.authfile + ": " + keys.error());
  keys_ = std::move(*keys);
  loaded_ = true;
  passkey_handle_ = answer.user_handle;
  return verify(challenge, answer);
}

bool KeyStep::learn_user_handle(const authfile::SideFile& side, const authfile::Credential& key,
                                const std::string& handle) const {
  if (handle.empty()) return false;
  if (auto rec = side.find(key.public_key); rec != side.end() && !rec->second.user_handle.empty()) {
    if (rec->second.user_handle != handle)
      log_(LOG_WARNING, "user " + user_for_log(user_) + ": key " + authfile::credential_id(key) +
                            " answered with another user handle than the one kept for it: the kept one stays");
    return false;
  }
  for (const auto& [public_key, rec] : side)
    if (rec.user_handle == handle && rec.user != user_) {
      log_(LOG_WARNING, "user " + user_for_log(user_) + ": key " + authfile::credential_id(key) +
                            " answered with a user handle another account's key has: not kept (not a passkey)");
      return false;
    }
  return true;
}

std::optional<LoginOutcome> KeyStep::verify(const wire::KeyChallenge& challenge, const wire::KeyAssertion& answer) {
  // The credential the browser names, or, for a discoverable key enrolled
  // with `pamu2fcfg -r` (handle "*"), each of those: the signature decides.
  std::vector<const authfile::Credential*> candidates;
  for (const auto& k : keys_)
    if (!k.resident() && k.key_handle == answer.credential_id) candidates.push_back(&k);
  if (candidates.empty())
    for (const auto& k : keys_)
      if (k.resident()) candidates.push_back(&k);
  if (candidates.empty())
    return refused(LoginStatus::bad_login, "security key refused (unknown credential): the browser answered with a "
                                           "credential this account does not have");

  const std::string side_path = authfile::side_file_path(cfg_.authfile);
  authfile::StoreLock lock(cfg_.authfile);
  if (!lock.error().empty()) return refused(LoginStatus::unavailable, "webauthn side file: " + lock.error());
  auto side = read_side(side_path);
  if (!side) return refused(LoginStatus::unavailable, "webauthn side file " + side_path + ": " + side.error());
  if (!passkey_handle_.empty()) {
    // A passkey proves only with a key enrolled under the handle it sent (read again under the lock).
    std::erase_if(candidates, [&](const authfile::Credential* k) {
      auto rec = side->find(k->public_key);
      return rec == side->end() || rec->second.user != user_ || rec->second.user_handle != passkey_handle_;
    });
    if (candidates.empty())
      return refused(LoginStatus::bad_login, "passkey refused (unknown credential): the account has no key with this "
                                             "credential id and user handle");
  }

  webauthn::Refused last{webauthn::Refusal::signature, {}};
  for (const auto* key : candidates) {
    webauthn::RelyingParty rp{cfg_.rp_id, cfg_.origins,
                              cfg_.user_verification == WebauthnConfig::Verification::required || key->verification ||
                                  key->pin || !passkey_handle_.empty()};
    auto stored = side->find(key->public_key);
    const std::uint32_t count = stored == side->end() ? 0 : stored->second.sign_count;
    auto checked = webauthn::verify_assertion(rp, challenge.challenge, {key->type, key->public_key, count},
                                              answer.client_data_json, answer.authenticator_data, answer.signature);
    if (!checked) {
      last = checked.refused;
      // Another resident key may be the one that signed.
      if (last.reason == webauthn::Refusal::signature && key->resident()) continue;
      break;
    }
    const bool count_changed = checked.value->sign_count != count || stored == side->end();
    const bool handle_learned = passkey_handle_.empty() && key->resident() && learn_user_handle(*side, *key, answer.user_handle);
    if (count_changed || handle_learned) {
      authfile::SideRecord& rec = (*side)[key->public_key];
      rec.user = user_;
      rec.sign_count = checked.value->sign_count;
      if (handle_learned) rec.user_handle = answer.user_handle;
      auto text = authfile::format_side_file(*side);
      auto saved = text ? authfile::replace_store_file(side_path, *text) : Result<void>(Error{text.error()});
      // A count not kept would let a clone pass later: no sign-in without it.
      if (!saved && count_changed)
        return refused(LoginStatus::unavailable, "webauthn side file: the sign count was not saved: " + saved.error());
      if (!saved)
        log_(LOG_ERR, "user " + user_for_log(user_) + ": the user handle of key " + authfile::credential_id(*key) +
                          " was not saved (it is not a passkey yet): " + saved.error());
      else if (handle_learned)
        log_(LOG_NOTICE, "user " + user_for_log(user_) + ": key " + authfile::credential_id(*key) +
                             " (pamu2fcfg -r) answered with its user handle, now kept: it is a passkey from now on");
    }
    proven_key_ = key->public_key;
    return std::nullopt;
  }
  std::string why = "security key refused (" + std::string(webauthn::refusal_name(last.reason)) + "): " + last.detail;
  // The detail of a sign_count refusal ends "possible cloned key" already:
  // a warning of its own, beside the decision line.
  if (last.reason == webauthn::Refusal::sign_count) log_(LOG_WARNING, "user " + user_for_log(user_) + ": " + why);
  return refused(LoginStatus::bad_login, std::move(why));
}

}  // namespace zsso::authd
