// SPDX-License-Identifier: BSD-3-Clause
#include "zsso/broker_protocol.hpp"

#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <optional>
#include <tuple>

#include "zsso/sha256.hpp"
#include "zsso/text.hpp"

namespace zsso::broker {

namespace {

enum RequestTag : std::uint8_t {
  kUser = 1, kPassword = 2, kClientAddress = 3, kProfile = 4, kRequestId = 5, kFlags = 6,
  kBinding = 7, kConversation = 8, kStep = 9, kAnswers = 10, kSession = 11, kKeyAssertion = 12,
  kKeyRegistration = 13, kKeyRemoval = 14,
};
enum ResponseTag : std::uint8_t {
  kStatus = 1, kDetail = 2, kToken = 3, kResponseConversation = 4, kResponseStep = 5, kMessages = 6, kCause = 7,
  kResponseSession = 8, kResponseUser = 9, kKeyChallenge = 10, kRegistration = 11, kKeys = 12,
};
constexpr std::uint8_t kFlagRemoteUser = 0x01;
constexpr std::uint8_t kFlagPing = 0x02;
constexpr std::uint8_t kFlagSession = 0x04;
constexpr std::uint8_t kFlagEnrol = 0x08;
constexpr std::uint8_t kFlagPasskey = 0x10;
constexpr std::size_t kFieldHeader = 3;

template <class Bytes>
void put_field(Bytes& out, std::uint8_t tag, const unsigned char* data, std::size_t n) {
  out.push_back(tag);
  out.push_back(static_cast<unsigned char>(n >> 8));
  out.push_back(static_cast<unsigned char>(n));
  out.insert(out.end(), data, data + n);
}

template <class Bytes>
void put_field(Bytes& out, std::uint8_t tag, std::string_view s) {
  put_field(out, tag, reinterpret_cast<const unsigned char*>(s.data()), s.size());
}

// A frame starts with the magic and a length that finish_frame fills in.
template <class Bytes>
void start_frame(Bytes& out) {
  out.assign(kMagic.begin(), kMagic.end());
  out.resize(kHeaderSize, 0);
}

template <class Bytes>
void finish_frame(Bytes& out) {
  auto body = static_cast<std::uint32_t>(out.size() - kHeaderSize);
  for (std::size_t i = 0; i < 4; ++i) out[4 + i] = static_cast<unsigned char>(body >> (24 - 8 * i));
}

struct Field {
  std::uint8_t tag;
  std::span<const unsigned char> value;
};

// Walks the fields of a body; each tag may appear once and must be below 32.
class FieldReader {
 public:
  explicit FieldReader(std::span<const unsigned char> body) : body_(body) {}

  // false at the end or on an error (then error() is set).
  bool next(Field& f) {
    if (pos_ == body_.size()) return false;
    if (body_.size() - pos_ < kFieldHeader) return fail("truncated field header");
    std::uint8_t tag = body_[pos_];
    std::size_t len = (std::size_t{body_[pos_ + 1]} << 8) | body_[pos_ + 2];
    pos_ += kFieldHeader;
    if (body_.size() - pos_ < len) return fail("field " + std::to_string(tag) + " runs past the end");
    if (tag == 0 || tag >= 32) return fail("unknown field " + std::to_string(tag));
    if (seen_ & (1u << tag)) return fail("field " + std::to_string(tag) + " appears twice");
    seen_ |= 1u << tag;
    f = {tag, body_.subspan(pos_, len)};
    pos_ += len;
    return true;
  }
  bool seen(std::uint8_t tag) const { return seen_ & (1u << tag); }
  const ProtocolError& error() const { return error_; }
  bool failed() const { return !error_.message.empty(); }

 private:
  bool fail(std::string msg) {
    error_ = {Detail::malformed, std::move(msg)};
    return false;
  }
  std::span<const unsigned char> body_;
  std::size_t pos_ = 0;
  std::uint32_t seen_ = 0;
  ProtocolError error_;
};

std::string_view as_text(std::span<const unsigned char> v) {
  return {reinterpret_cast<const char*>(v.data()), v.size()};
}

// A short text field: within its limit, UTF-8, no control characters.
// The same rule for the encoder and the decoder.
std::optional<ProtocolError> check_text(std::string_view s, std::size_t max, std::string_view name) {
  if (s.size() > max) return ProtocolError{Detail::too_large, std::string(name) + " longer than " + std::to_string(max) + " bytes"};
  if (!is_valid_utf8(s) || has_control_chars(s))
    return ProtocolError{Detail::malformed, std::string(name) + " is not printable UTF-8"};
  return std::nullopt;
}

bool text_field(std::span<const unsigned char> v, std::size_t max, std::string_view name, std::string& out,
                ProtocolError& err) {
  if (auto bad = check_text(as_text(v), max, name)) {
    err = std::move(*bad);
    return false;
  }
  out.assign(as_text(v));
  return true;
}

// Message text: UTF-8, newlines allowed, no other control character.
bool is_message_text(std::string_view s) {
  if (s.size() > kMaxMessageText || !is_valid_utf8(s)) return false;
  return std::none_of(s.begin(), s.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return (u < 0x20 && c != '\n') || u == 0x7f;
  });
}

bool is_kind(unsigned char k) { return k >= 1 && k <= 4; }

// A session cookie value: base64url and dots, within kMaxSession.
bool is_session_text(std::string_view s) {
  return !s.empty() && s.size() <= kMaxSession && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
           c == '.';
  });
}

// Answers: each u16 length and bytes; at least one, at most kMaxAnswers.
std::optional<ProtocolError> check_answers(const std::vector<SecureBytes>& answers) {
  if (answers.empty() || answers.size() > kMaxAnswers)
    return ProtocolError{Detail::malformed, "a continue request carries 1 to " + std::to_string(kMaxAnswers) + " answers"};
  for (const auto& a : answers) {
    if (a.size() > kMaxAnswer)
      return ProtocolError{Detail::too_large, "answer longer than " + std::to_string(kMaxAnswer) + " bytes"};
    if (std::find(a.begin(), a.end(), 0) != a.end()) return ProtocolError{Detail::malformed, "answer contains a NUL byte"};
  }
  return std::nullopt;
}

// u16 length and bytes, appended.
void put_chunk(std::string& out, std::string_view v) {
  out.push_back(static_cast<char>(v.size() >> 8));
  out.push_back(static_cast<char>(v.size()));
  out += v;
}

// The next u16-length chunk of v from pos; false when it runs past the end.
bool take_chunk(std::span<const unsigned char> v, std::size_t& pos, std::string& out) {
  if (v.size() - pos < 2) return false;
  std::size_t n = (std::size_t{v[pos]} << 8) | v[pos + 1];
  pos += 2;
  if (v.size() - pos < n) return false;
  out.assign(as_text(v.subspan(pos, n)));
  pos += n;
  return true;
}

std::optional<ProtocolError> check_key_assertion(const KeyAssertion& k) {
  for (auto [v, lo, hi, name] : {std::tuple{&k.credential_id, std::size_t{1}, kMaxCredentialId, "credential id"},
                                 std::tuple{&k.client_data_json, std::size_t{1}, kMaxClientDataJson, "clientDataJSON"},
                                 std::tuple{&k.authenticator_data, std::size_t{37}, kMaxAuthenticatorData,
                                            "authenticatorData"},
                                 std::tuple{&k.signature, std::size_t{1}, kMaxKeySignature, "signature"}}) {
    if (v->size() > hi) return ProtocolError{Detail::too_large, std::string(name) + " longer than " + std::to_string(hi) + " bytes"};
    if (v->size() < lo) return ProtocolError{Detail::malformed, std::string(name) + " shorter than " + std::to_string(lo) + " bytes"};
  }
  if (k.user_handle.size() > kMaxUserHandle)
    return ProtocolError{Detail::too_large, "user handle longer than " + std::to_string(kMaxUserHandle) + " bytes"};
  return std::nullopt;
}

// What a key step (tag 10) and a registration step (tag 11) both carry: the
// single-use challenge, the rp id, the user-verification setting and the
// credential ids (allowed, or excluded); what names the challenge in a message.
std::optional<ProtocolError> check_ceremony(std::string_view what, const std::string& challenge,
                                            const std::string& rp_id, KeyChallenge::Verification uv,
                                            const std::vector<std::string>& credential_ids) {
  if (challenge.size() != kKeyChallengeSize)
    return ProtocolError{Detail::malformed,
                         std::string(what) + " challenge is not " + std::to_string(kKeyChallengeSize) + " bytes"};
  if (rp_id.empty() || check_text(rp_id, kMaxRpId, "rp id"))
    return ProtocolError{Detail::malformed, "rp id is empty or not printable"};
  if (static_cast<std::uint8_t>(uv) > 2) return ProtocolError{Detail::malformed, "bad user verification"};
  if (credential_ids.size() > kMaxKeyCredentials) return ProtocolError{Detail::malformed, "too many credential ids"};
  for (const auto& id : credential_ids)
    if (id.empty() || id.size() > kMaxCredentialId) return ProtocolError{Detail::malformed, "bad credential id"};
  return std::nullopt;
}

std::optional<ProtocolError> check_key_challenge(const KeyChallenge& k) {
  return check_ceremony("key", k.challenge, k.rp_id, k.user_verification, k.credential_ids);
}

// An invite code as a person types it: printable ASCII (spaces and dashes
// are the store's to ignore, invites.hpp).
bool is_invite_text(std::string_view s) {
  return s.size() <= kMaxInviteCode &&
         std::all_of(s.begin(), s.end(), [](char c) { return c >= 0x20 && c < 0x7f; });
}

std::optional<ProtocolError> check_registration_answer(const KeyRegistrationAnswer& k) {
  if (k.client_data_json.empty() || k.client_data_json.size() > kMaxClientDataJson)
    return ProtocolError{k.client_data_json.empty() ? Detail::malformed : Detail::too_large,
                         "clientDataJSON empty or longer than " + std::to_string(kMaxClientDataJson) + " bytes"};
  if (k.attestation_object.empty() || k.attestation_object.size() > kMaxAttestationObject)
    return ProtocolError{k.attestation_object.empty() ? Detail::malformed : Detail::too_large,
                         "attestationObject empty or longer than " + std::to_string(kMaxAttestationObject) + " bytes"};
  if (!is_invite_text(k.invite_code)) return ProtocolError{Detail::malformed, "invite code is not printable ASCII"};
  return std::nullopt;
}

std::optional<ProtocolError> check_registration(const KeyRegistration& k) {
  if (auto bad = check_ceremony("registration", k.challenge, k.rp_id, k.user_verification, k.exclude_ids)) return bad;
  if (k.user_handle.empty() || k.user_handle.size() > kMaxUserHandle)
    return ProtocolError{Detail::malformed, "bad user handle"};
  if (k.user_name.empty() || check_text(k.user_name, kMaxUser, "user name"))
    return ProtocolError{Detail::malformed, "user name is empty or not printable"};
  return std::nullopt;
}

std::optional<ProtocolError> check_key_list(const std::vector<KeyListEntry>& keys) {
  if (keys.size() > kMaxKeyCredentials) return ProtocolError{Detail::malformed, "too many keys listed"};
  for (const auto& k : keys)
    if (k.id.empty() || k.type.empty() || check_text(k.id, kMaxKeyIdText, "key id") ||
        check_text(k.type, kMaxKeyIdText, "key type"))
      return ProtocolError{Detail::malformed, "bad key in the list"};
  return std::nullopt;
}

template <class T>
Decoded<T> failed(ProtocolError e) {
  Decoded<T> d;
  d.error = std::move(e);
  return d;
}

}  // namespace

std::string_view status_name(Status s) {
  switch (s) {
    case Status::ok: return "ok";
    case Status::bad_login: return "bad_login";
    case Status::not_allowed: return "not_allowed";
    case Status::unavailable: return "unavailable";
    case Status::error: return "error";
    case Status::prompt: return "prompt";
  }
  return "?";
}

std::string_view detail_name(Detail d) {
  switch (d) {
    case Detail::none: return "none";
    case Detail::malformed: return "malformed request";
    case Detail::too_large: return "request too large";
    case Detail::timeout: return "request timed out";
    case Detail::peer_refused: return "peer not in broker.allowed_peers";
    case Detail::config: return "broker cannot load its configuration";
    case Detail::unknown_profile: return "profile not defined in the broker's configuration";
    case Detail::remote_user_disabled: return "REMOTE_USER mode is off in the broker's configuration";
    case Detail::pam: return "PAM";
    case Detail::internal: return "internal error";
    case Detail::busy: return "too many sign-ins at once (broker.max_sign_ins)";
    case Detail::conversation: return "does not fit the conversation";
    case Detail::password_expired: return "password expired";
    case Detail::timeout_prompt: return "no answer to the prompt in time";
    case Detail::limited: return "this address or account holds its share of sign-ins";
    case Detail::key_required: return "a security key is required and none is enrolled";
    case Detail::passwordless_off: return "passkeys without a password are off in the broker's configuration";
  }
  return "?";
}

Result<SecureBytes> encode_request(const Request& req) {
  for (auto [v, max, name] : {std::tuple{std::string_view(req.client_address), kMaxClientAddress, "client address"},
                              std::tuple{std::string_view(req.request_id), kMaxRequestId, "request id"},
                              std::tuple{std::string_view(req.binding), kMaxBinding, "binding"}})
    if (auto bad = check_text(v, max, name)) return Error{bad->message};
  SecureBytes out;
  start_frame(out);
  // A start that names no account (session, passkey): address, profile, request id, its flag.
  auto put_accountless_start = [&](unsigned char flag) {
    put_field(out, kClientAddress, req.client_address);
    if (!req.profile.empty()) put_field(out, kProfile, req.profile);
    if (!req.request_id.empty()) put_field(out, kRequestId, req.request_id);
    put_field(out, kFlags, &flag, 1);
  };
  if (req.from_session) {
    if (req.continues || !req.user.empty() || !req.password.empty() || req.remote_user || req.enrol || req.passkey ||
        !req.binding.empty())
      return Error{"a session request carries no user, password, binding or conversation"};
    if (!is_session_text(req.session)) return Error{"session cookie is not a session value"};
    if (auto bad = check_text(req.profile, kMaxProfile, "profile")) return Error{bad->message};
    put_accountless_start(kFlagSession);
    put_field(out, kSession, req.session);
  } else if (req.passkey) {
    if (req.continues || !req.user.empty() || !req.password.empty() || req.remote_user || req.enrol || req.ping)
      return Error{"a passkey request carries no user, password, other flags or conversation"};
    if (req.binding.empty()) return Error{"a passkey request needs the binding"};
    if (auto bad = check_text(req.profile, kMaxProfile, "profile")) return Error{bad->message};
    put_accountless_start(kFlagPasskey);
    put_field(out, kBinding, req.binding);
  } else if (req.continues) {
    if (!req.user.empty() || !req.password.empty() || !req.profile.empty() || req.remote_user)
      return Error{"a continue request carries no user, password, profile or flags"};
    if (req.binding.empty()) return Error{"a continue request needs the binding"};
    if (req.step == 0) return Error{"steps count from 1"};
    if (req.enrol) return Error{"a continue request carries no flags"};
    if (int{req.key.present()} + int{req.registration.present()} + int{!req.key_removal.empty()} > 1)
      return Error{"one of a key assertion, a key registration and a key removal"};
    if (!req.key_removal.empty()) {
      if (!req.answers.empty()) return Error{"a key removal goes instead of answers"};
      if (check_text(req.key_removal, kMaxKeyIdText, "key id")) return Error{"key removal: not a key id"};
    } else if (req.registration.present()) {
      if (!req.answers.empty()) return Error{"a key registration goes instead of answers"};
      if (auto bad = check_registration_answer(req.registration)) return Error{bad->message};
    } else if (req.key.present()) {
      if (!req.answers.empty()) return Error{"a key assertion goes instead of answers"};
      if (auto bad = check_key_assertion(req.key)) return Error{bad->message};
    } else if (auto bad = check_answers(req.answers)) {
      return Error{bad->message};
    }
    put_field(out, kClientAddress, req.client_address);
    if (!req.request_id.empty()) put_field(out, kRequestId, req.request_id);
    put_field(out, kBinding, req.binding);
    put_field(out, kConversation, req.conversation.data(), req.conversation.size());
    put_field(out, kStep, &req.step, 1);
    if (!req.key_removal.empty()) {
      put_field(out, kKeyRemoval, req.key_removal);
    } else if (req.registration.present()) {
      std::string reg;
      for (const auto* v : {&req.registration.client_data_json, &req.registration.attestation_object,
                            &req.registration.invite_code})
        put_chunk(reg, *v);
      put_field(out, kKeyRegistration, reg);
    } else if (req.key.present()) {
      std::string key;
      for (const auto* v : {&req.key.credential_id, &req.key.client_data_json, &req.key.authenticator_data,
                            &req.key.signature})
        put_chunk(key, *v);
      // A discoverable key's userHandle (passkeys, slice 5): a fifth part, only when there is one.
      if (!req.key.user_handle.empty()) put_chunk(key, req.key.user_handle);
      if (key.size() > 0xffff) return Error{"key assertion too large"};
      put_field(out, kKeyAssertion, key);
    } else {
      SecureBytes answers;
      for (const auto& a : req.answers) {
        answers.push_back(static_cast<unsigned char>(a.size() >> 8));
        answers.push_back(static_cast<unsigned char>(a.size()));
        answers.insert(answers.end(), a.begin(), a.end());
      }
      if (answers.size() > 0xffff) return Error{"answers too large"};
      put_field(out, kAnswers, answers.data(), answers.size());
    }
  } else {
    if (req.user.empty()) return Error{"user is empty"};
    for (auto [v, max, name] : {std::tuple{std::string_view(req.user), kMaxUser, "user"},
                                std::tuple{std::string_view(req.profile), kMaxProfile, "profile"}})
      if (auto bad = check_text(v, max, name)) return Error{bad->message};
    if (req.password.size() > kMaxPassword)
      return Error{"password longer than " + std::to_string(kMaxPassword) + " bytes"};
    if (std::find(req.password.begin(), req.password.end(), 0) != req.password.end())
      return Error{"password contains a NUL byte"};
    if (req.remote_user && !req.password.empty()) return Error{"REMOTE_USER mode carries no password"};
    if (req.ping && (req.remote_user || !req.password.empty())) return Error{"a ping carries no password and no REMOTE_USER"};
    if (req.enrol && (req.remote_user || req.ping)) return Error{"an enrolment is a password sign-in"};
    put_field(out, kUser, req.user);
    put_field(out, kPassword, req.password.data(), req.password.size());
    put_field(out, kClientAddress, req.client_address);
    if (!req.profile.empty()) put_field(out, kProfile, req.profile);
    if (!req.request_id.empty()) put_field(out, kRequestId, req.request_id);
    unsigned char flags = (req.remote_user ? kFlagRemoteUser : 0) | (req.ping ? kFlagPing : 0) | (req.enrol ? kFlagEnrol : 0);
    put_field(out, kFlags, &flags, 1);
    if (!req.binding.empty()) put_field(out, kBinding, req.binding);
  }
  finish_frame(out);
  if (out.size() > kMaxRequestSize) return Error{"request larger than " + std::to_string(kMaxRequestSize) + " bytes"};
  return out;
}

Decoded<Request> decode_request_body(std::span<const unsigned char> body) {
  if (body.size() + kHeaderSize > kMaxRequestSize) return failed<Request>({Detail::too_large, "request too large"});
  Decoded<Request> d;
  Request& r = d.value;
  FieldReader fields(body);
  Field f{};
  ProtocolError err;
  while (fields.next(f)) {
    bool good = true;
    switch (f.tag) {
      case kUser: good = text_field(f.value, kMaxUser, "user", r.user, err); break;
      case kPassword:
        if (f.value.size() > kMaxPassword) {
          err = {Detail::too_large, "password longer than " + std::to_string(kMaxPassword) + " bytes"};
          good = false;
        } else if (std::find(f.value.begin(), f.value.end(), 0) != f.value.end()) {
          err = {Detail::malformed, "password contains a NUL byte"};  // PAM takes C strings
          good = false;
        } else {
          r.password.assign(f.value.begin(), f.value.end());
        }
        break;
      case kClientAddress: good = text_field(f.value, kMaxClientAddress, "client address", r.client_address, err); break;
      case kProfile: good = text_field(f.value, kMaxProfile, "profile", r.profile, err); break;
      case kRequestId: good = text_field(f.value, kMaxRequestId, "request id", r.request_id, err); break;
      case kFlags:
        // A session request is its own kind: the session flag stands alone.
        // So is an enrolment: a password sign-in, neither REMOTE_USER nor a ping.
        // And a passkey sign-in: no user, no password.
        if (f.value.size() != 1 ||
            (f.value[0] & ~(kFlagRemoteUser | kFlagPing | kFlagSession | kFlagEnrol | kFlagPasskey)) ||
            ((f.value[0] & kFlagSession) && f.value[0] != kFlagSession) ||
            ((f.value[0] & kFlagEnrol) && f.value[0] != kFlagEnrol) ||
            ((f.value[0] & kFlagPasskey) && f.value[0] != kFlagPasskey)) {
          err = {Detail::malformed, "unknown flags"};
          good = false;
        } else {
          r.remote_user = f.value[0] & kFlagRemoteUser;
          r.ping = f.value[0] & kFlagPing;
          r.from_session = f.value[0] & kFlagSession;
          r.enrol = f.value[0] & kFlagEnrol;
          r.passkey = f.value[0] & kFlagPasskey;
        }
        break;
      case kBinding: good = text_field(f.value, kMaxBinding, "binding", r.binding, err); break;
      case kConversation:
        if (f.value.size() != kConversationIdSize) {
          err = {Detail::malformed, "conversation id is not " + std::to_string(kConversationIdSize) + " bytes"};
          good = false;
        } else {
          std::copy(f.value.begin(), f.value.end(), r.conversation.begin());
          r.continues = true;
        }
        break;
      case kStep:
        if (f.value.size() != 1 || f.value[0] == 0) {
          err = {Detail::malformed, "bad step"};
          good = false;
        } else {
          r.step = f.value[0];
        }
        break;
      case kAnswers: {
        std::size_t pos = 0;
        while (good && pos < f.value.size()) {
          if (f.value.size() - pos < 2 || r.answers.size() >= kMaxAnswers) {
            err = {Detail::malformed, "bad answers field"};
            good = false;
            break;
          }
          std::size_t n = (std::size_t{f.value[pos]} << 8) | f.value[pos + 1];
          pos += 2;
          if (f.value.size() - pos < n) {
            err = {Detail::malformed, "answer runs past the end"};
            good = false;
            break;
          }
          r.answers.emplace_back(f.value.begin() + static_cast<std::ptrdiff_t>(pos),
                                 f.value.begin() + static_cast<std::ptrdiff_t>(pos + n));
          pos += n;
        }
        if (good)
          if (auto bad = check_answers(r.answers)) {
            err = std::move(*bad);
            good = false;
          }
        break;
      }
      case kSession:
        if (!is_session_text(as_text(f.value))) {
          err = {Detail::malformed, "session cookie is not a session value"};
          good = false;
        } else {
          r.session.assign(as_text(f.value));
        }
        break;
      case kKeyAssertion: {
        std::size_t pos = 0;
        KeyAssertion& k = r.key;
        good = take_chunk(f.value, pos, k.credential_id) && take_chunk(f.value, pos, k.client_data_json) &&
               take_chunk(f.value, pos, k.authenticator_data) && take_chunk(f.value, pos, k.signature);
        // The optional fifth part: a userHandle, never empty when sent.
        if (good && pos < f.value.size()) good = take_chunk(f.value, pos, k.user_handle) && !k.user_handle.empty();
        good = good && pos == f.value.size();
        if (!good) err = {Detail::malformed, "bad key assertion field"};
        else if (auto bad = check_key_assertion(k)) {
          err = std::move(*bad);
          good = false;
        }
        break;
      }
      case kKeyRegistration: {
        std::size_t pos = 0;
        KeyRegistrationAnswer& k = r.registration;
        good = take_chunk(f.value, pos, k.client_data_json) && take_chunk(f.value, pos, k.attestation_object) &&
               take_chunk(f.value, pos, k.invite_code) && pos == f.value.size();
        if (!good) err = {Detail::malformed, "bad key registration field"};
        else if (auto bad = check_registration_answer(k)) {
          err = std::move(*bad);
          good = false;
        }
        break;
      }
      case kKeyRemoval:
        good = !f.value.empty() && text_field(f.value, kMaxKeyIdText, "key id", r.key_removal, err);
        if (f.value.empty()) err = {Detail::malformed, "key removal without a key id"};
        break;
      default: err = {Detail::malformed, "unknown field " + std::to_string(f.tag)}; good = false;
    }
    if (!good) return failed<Request>(std::move(err));
  }
  if (fields.failed()) return failed<Request>(fields.error());
  if (r.from_session) {
    for (auto tag : {kUser, kPassword, kBinding, kConversation, kStep, kAnswers, kKeyAssertion, kKeyRegistration,
                     kKeyRemoval})
      if (fields.seen(tag))
        return failed<Request>({Detail::malformed, "field " + std::to_string(tag) + " in a session request"});
    for (auto tag : {kClientAddress, kSession})
      if (!fields.seen(tag)) return failed<Request>({Detail::malformed, "field " + std::to_string(tag) + " missing"});
    return d;
  }
  if (fields.seen(kSession)) return failed<Request>({Detail::malformed, "session cookie without the session flag"});
  if (r.passkey) {
    for (auto tag : {kUser, kPassword, kConversation, kStep, kAnswers, kKeyAssertion, kKeyRegistration, kKeyRemoval})
      if (fields.seen(tag))
        return failed<Request>({Detail::malformed, "field " + std::to_string(tag) + " in a passkey request"});
    for (auto tag : {kClientAddress, kBinding})
      if (!fields.seen(tag)) return failed<Request>({Detail::malformed, "field " + std::to_string(tag) + " missing"});
    if (r.binding.empty()) return failed<Request>({Detail::malformed, "binding is empty"});
    return d;
  }
  if (r.continues) {
    for (auto tag : {kUser, kPassword, kProfile, kFlags})
      if (fields.seen(tag))
        return failed<Request>({Detail::malformed, "field " + std::to_string(tag) + " in a continue request"});
    for (auto tag : {kClientAddress, kBinding, kStep})
      if (!fields.seen(tag)) return failed<Request>({Detail::malformed, "field " + std::to_string(tag) + " missing"});
    if (int{fields.seen(kAnswers)} + int{fields.seen(kKeyAssertion)} + int{fields.seen(kKeyRegistration)} +
            int{fields.seen(kKeyRemoval)} !=
        1)
      return failed<Request>({Detail::malformed, "a continue request carries answers (field 10), a key assertion "
                                                 "(field 12), a key registration (field 13) or a key removal "
                                                 "(field 14), one of them"});
    if (r.binding.empty()) return failed<Request>({Detail::malformed, "binding is empty"});
    return d;
  }
  for (auto tag : {kStep, kAnswers, kKeyAssertion, kKeyRegistration, kKeyRemoval})
    if (fields.seen(tag))
      return failed<Request>({Detail::malformed, "field " + std::to_string(tag) + " without a conversation"});
  for (auto tag : {kUser, kPassword, kClientAddress, kFlags})
    if (!fields.seen(tag)) return failed<Request>({Detail::malformed, "field " + std::to_string(tag) + " missing"});
  if (r.user.empty()) return failed<Request>({Detail::malformed, "user is empty"});
  if (r.remote_user && !r.password.empty())
    return failed<Request>({Detail::malformed, "REMOTE_USER mode carries no password"});
  if (r.ping && (r.remote_user || !r.password.empty()))
    return failed<Request>({Detail::malformed, "a ping carries no password and no REMOTE_USER"});
  return d;
}

std::string encode_response(const Response& resp) {
  // What the decoder would refuse is the broker's own bug: answer an error instead.
  auto internal = [] { return encode_response({Status::error, Detail::internal, {}}); };
  std::size_t prompts = 0;
  std::string messages;
  if (resp.messages.size() > kMaxMessages) return internal();
  for (const auto& m : resp.messages) {
    if (!is_message_text(m.text)) return internal();
    prompts += m.is_prompt();
    messages.push_back(static_cast<char>(m.kind));
    messages.push_back(static_cast<char>(m.text.size() >> 8));
    messages.push_back(static_cast<char>(m.text.size()));
    messages += m.text;
  }
  const bool key = resp.key.present();
  const bool reg = resp.registration.present();
  if (key && (resp.status != Status::prompt || prompts != 0 || check_key_challenge(resp.key))) return internal();
  if (reg && (key || resp.status != Status::prompt || prompts != 0 || check_registration(resp.registration)))
    return internal();
  // The keys go with a registration step and with the ok that ends an enrolment (no token).
  if (resp.keys_listed && (check_key_list(resp.keys) || !(reg || (resp.status == Status::ok && resp.token.empty()))))
    return internal();
  if (!resp.keys_listed && !resp.keys.empty()) return internal();
  if (resp.status == Status::prompt && ((!key && !reg && prompts == 0) || prompts > kMaxAnswers || resp.step == 0))
    return internal();
  if (resp.status != Status::prompt && prompts != 0) return internal();
  if (resp.status == Status::ok && resp.token.size() > kMaxToken) return internal();
  if (!resp.session.empty() && (resp.status != Status::ok || resp.token.empty() || !is_session_text(resp.session)))
    return internal();
  if (!resp.user.empty() && (resp.status == Status::prompt || check_text(resp.user, kMaxUser, "user")))
    return internal();

  std::string out;
  start_frame(out);
  auto status = static_cast<unsigned char>(resp.status);
  auto detail = static_cast<unsigned char>(resp.detail);
  put_field(out, kStatus, &status, 1);
  put_field(out, kDetail, &detail, 1);
  // ok without a token is the answer to a ping.
  if (resp.status == Status::ok && !resp.token.empty()) put_field(out, kToken, resp.token);
  if (resp.status == Status::prompt) {
    put_field(out, kResponseConversation, resp.conversation.data(), resp.conversation.size());
    put_field(out, kResponseStep, &resp.step, 1);
  }
  if (key) {
    std::string k(1, static_cast<char>(resp.key.user_verification));
    put_chunk(k, resp.key.challenge);
    put_chunk(k, resp.key.rp_id);
    for (const auto& id : resp.key.credential_ids) put_chunk(k, id);
    put_field(out, kKeyChallenge, k);
  }
  if (reg) {
    const KeyRegistration& g = resp.registration;
    std::string k{static_cast<char>(g.user_verification), static_cast<char>(g.invite_needed ? 1 : 0)};
    for (const auto* v : {&g.challenge, &g.rp_id, &g.user_handle, &g.user_name}) put_chunk(k, *v);
    for (const auto& id : g.exclude_ids) put_chunk(k, id);
    put_field(out, kRegistration, k);
  }
  if (resp.keys_listed) {
    std::string k;
    for (const auto& e : resp.keys) {
      put_chunk(k, e.id);
      put_chunk(k, e.type);
    }
    put_field(out, kKeys, k);
  }
  if (!messages.empty()) put_field(out, kMessages, messages);
  if (!resp.session.empty()) put_field(out, kResponseSession, resp.session);
  if (!resp.user.empty()) put_field(out, kResponseUser, resp.user);
  if (!resp.cause.empty()) {
    // Cleaned here, not refused: the cause is only ever logged.
    std::string cause = clean_message_text(resp.cause.substr(0, kMaxCause));
    std::replace(cause.begin(), cause.end(), '\n', ' ');
    if (cause.size() > kMaxCause) cause.resize(kMaxCause);
    if (!is_valid_utf8(cause)) cause = "(cause not printable)";
    put_field(out, kCause, cause);
  }
  finish_frame(out);
  return out;
}

Decoded<Response> decode_response_body(std::span<const unsigned char> body) {
  if (body.size() + kHeaderSize > kMaxResponseSize) return failed<Response>({Detail::too_large, "response too large"});
  Decoded<Response> d;
  Response& r = d.value;
  FieldReader fields(body);
  Field f{};
  while (fields.next(f)) {
    switch (f.tag) {
      case kStatus:
        if (f.value.size() != 1 || f.value[0] > static_cast<unsigned char>(Status::prompt))
          return failed<Response>({Detail::malformed, "bad status"});
        r.status = static_cast<Status>(f.value[0]);
        break;
      case kDetail:
        if (f.value.size() != 1 || f.value[0] > kMaxDetail) return failed<Response>({Detail::malformed, "bad detail"});
        r.detail = static_cast<Detail>(f.value[0]);
        break;
      case kToken: {
        std::string_view t = as_text(f.value);
        // A JWS compact token is base64url and dots only; anything else is not a token.
        if (t.empty() || t.size() > kMaxToken ||
            !std::all_of(t.begin(), t.end(), [](char c) {
              return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
                     c == '_' || c == '.';
            }))
          return failed<Response>({Detail::malformed, "token is not a JWS compact token"});
        r.token.assign(t);
        break;
      }
      case kResponseConversation:
        if (f.value.size() != kConversationIdSize) return failed<Response>({Detail::malformed, "bad conversation id"});
        std::copy(f.value.begin(), f.value.end(), r.conversation.begin());
        break;
      case kResponseStep:
        if (f.value.size() != 1 || f.value[0] == 0) return failed<Response>({Detail::malformed, "bad step"});
        r.step = f.value[0];
        break;
      case kMessages: {
        std::size_t pos = 0;
        while (pos < f.value.size()) {
          if (f.value.size() - pos < 3 || r.messages.size() >= kMaxMessages || !is_kind(f.value[pos]))
            return failed<Response>({Detail::malformed, "bad messages field"});
          auto kind = static_cast<Message::Kind>(f.value[pos]);
          std::size_t n = (std::size_t{f.value[pos + 1]} << 8) | f.value[pos + 2];
          pos += 3;
          if (f.value.size() - pos < n) return failed<Response>({Detail::malformed, "message runs past the end"});
          std::string_view text = as_text(f.value.subspan(pos, n));
          if (!is_message_text(text)) return failed<Response>({Detail::malformed, "message is not printable UTF-8"});
          r.messages.push_back({kind, std::string(text)});
          pos += n;
        }
        break;
      }
      case kResponseSession:
        if (!is_session_text(as_text(f.value))) return failed<Response>({Detail::malformed, "bad session cookie"});
        r.session.assign(as_text(f.value));
        break;
      case kResponseUser:
        if (f.value.empty() || check_text(as_text(f.value), kMaxUser, "user"))
          return failed<Response>({Detail::malformed, "user is empty or not printable UTF-8"});
        r.user.assign(as_text(f.value));
        break;
      case kKeyChallenge: {
        KeyChallenge& k = r.key;
        if (f.value.empty() || f.value[0] > 2) return failed<Response>({Detail::malformed, "bad key challenge"});
        k.user_verification = static_cast<KeyChallenge::Verification>(f.value[0]);
        std::size_t pos = 1;
        if (!take_chunk(f.value, pos, k.challenge) || !take_chunk(f.value, pos, k.rp_id))
          return failed<Response>({Detail::malformed, "bad key challenge"});
        while (pos < f.value.size()) {
          if (k.credential_ids.size() >= kMaxKeyCredentials || !take_chunk(f.value, pos, k.credential_ids.emplace_back()))
            return failed<Response>({Detail::malformed, "bad key challenge"});
        }
        if (auto bad = check_key_challenge(k)) return failed<Response>(std::move(*bad));
        break;
      }
      case kRegistration: {
        KeyRegistration& k = r.registration;
        if (f.value.size() < 2 || f.value[0] > 2 || f.value[1] > 1)
          return failed<Response>({Detail::malformed, "bad key registration"});
        k.user_verification = static_cast<KeyChallenge::Verification>(f.value[0]);
        k.invite_needed = f.value[1] == 1;
        std::size_t pos = 2;
        if (!take_chunk(f.value, pos, k.challenge) || !take_chunk(f.value, pos, k.rp_id) ||
            !take_chunk(f.value, pos, k.user_handle) || !take_chunk(f.value, pos, k.user_name))
          return failed<Response>({Detail::malformed, "bad key registration"});
        while (pos < f.value.size())
          if (k.exclude_ids.size() >= kMaxKeyCredentials || !take_chunk(f.value, pos, k.exclude_ids.emplace_back()))
            return failed<Response>({Detail::malformed, "bad key registration"});
        if (auto bad = check_registration(k)) return failed<Response>(std::move(*bad));
        break;
      }
      case kKeys: {
        std::size_t pos = 0;
        r.keys_listed = true;
        while (pos < f.value.size()) {
          if (r.keys.size() >= kMaxKeyCredentials) return failed<Response>({Detail::malformed, "too many keys listed"});
          KeyListEntry& e = r.keys.emplace_back();
          if (!take_chunk(f.value, pos, e.id) || !take_chunk(f.value, pos, e.type))
            return failed<Response>({Detail::malformed, "bad keys field"});
        }
        if (auto bad = check_key_list(r.keys)) return failed<Response>(std::move(*bad));
        break;
      }
      case kCause: {
        std::string_view text = as_text(f.value);
        if (text.size() > kMaxCause || !is_valid_utf8(text) || has_control_chars(text))
          return failed<Response>({Detail::malformed, "cause is not printable UTF-8"});
        r.cause.assign(text);
        break;
      }
      default: return failed<Response>({Detail::malformed, "unknown field " + std::to_string(f.tag)});
    }
  }
  if (fields.failed()) return failed<Response>(fields.error());
  if (!fields.seen(kStatus) || !fields.seen(kDetail)) return failed<Response>({Detail::malformed, "status missing"});
  // ok without a token answers a ping; the login client refuses it as a login answer.
  if (r.status != Status::ok && fields.seen(kToken))
    return failed<Response>({Detail::malformed, "token present without ok"});
  if (fields.seen(kResponseSession) && (r.status != Status::ok || !fields.seen(kToken)))
    return failed<Response>({Detail::malformed, "session cookie without ok and a token"});
  const bool is_prompt = r.status == Status::prompt;
  if (is_prompt && fields.seen(kResponseUser)) return failed<Response>({Detail::malformed, "user in a prompt answer"});
  if (is_prompt != fields.seen(kResponseConversation) || is_prompt != fields.seen(kResponseStep))
    return failed<Response>({Detail::malformed, "conversation fields present without prompt, or prompt without them"});
  auto prompts = static_cast<std::size_t>(std::count_if(r.messages.begin(), r.messages.end(),
                                                        [](const Message& m) { return m.is_prompt(); }));
  if (fields.seen(kKeys) && !fields.seen(kRegistration) && !(r.status == Status::ok && !fields.seen(kToken)))
    return failed<Response>({Detail::malformed, "keys belong to a registration step or an enrolment's ok"});
  if (fields.seen(kKeyChallenge) && fields.seen(kRegistration))
    return failed<Response>({Detail::malformed, "a key challenge and a key registration in one answer"});
  if (fields.seen(kKeyChallenge) || fields.seen(kRegistration)) {
    if (!is_prompt || prompts != 0)
      return failed<Response>({Detail::malformed, "a key step belongs to a prompt answer without prompts"});
    return d;
  }
  if (is_prompt ? (prompts == 0 || prompts > kMaxAnswers) : prompts != 0)
    return failed<Response>({Detail::malformed, "a prompt answer needs 1 to " + std::to_string(kMaxAnswers) +
                                                    " prompts; other answers none"});
  return d;
}

Decoded<std::uint32_t> decode_header(std::span<const unsigned char, kHeaderSize> header, std::size_t max_frame) {
  if (!std::equal(kMagic.begin(), kMagic.end(), header.begin()))
    return failed<std::uint32_t>({Detail::malformed, "bad magic (not a ZSB2 frame)"});
  std::uint32_t len = 0;
  for (std::size_t i = 4; i < kHeaderSize; ++i) len = (len << 8) | header[i];
  if (std::size_t{len} > max_frame - kHeaderSize)
    return failed<std::uint32_t>({Detail::too_large, "frame announces " + std::to_string(len) +
                                                         " bytes; the limit is " + std::to_string(max_frame)});
  Decoded<std::uint32_t> d;
  d.value = len;
  return d;
}

std::string clean_message_text(std::string_view raw) {
  std::string out;
  std::size_t i = 0;
  while (i < raw.size()) {
    auto c = static_cast<unsigned char>(raw[i]);
    std::size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
    std::string piece;
    if (len == 1) {
      piece = (c < 0x20 && c != '\n') || c == 0x7f ? std::string(" ") : std::string(1, static_cast<char>(c));
    } else if (len > 1 && i + len <= raw.size() && is_valid_utf8(raw.substr(i, len))) {
      piece = std::string(raw.substr(i, len));
      // C1 controls (U+0080-U+009F) are not text either.
      if (len == 2 && c == 0xc2 && static_cast<unsigned char>(raw[i + 1]) < 0xa0) piece = " ";
    } else {
      piece = "\xEF\xBF\xBD";  // U+FFFD for a broken byte
      len = 1;
    }
    if (out.size() + piece.size() > kMaxMessageText) break;
    out += piece;
    i += len;
  }
  return out;
}

std::string conversation_dir(std::string_view broker_socket) {
  auto slash = broker_socket.rfind('/');
  if (slash == std::string_view::npos) return {};
  return std::string(broker_socket.substr(0, slash)) + "/conv";
}

std::string conversation_socket_path(std::string_view broker_socket, const ConversationId& id) {
  std::string dir = conversation_dir(broker_socket);
  return dir.empty() ? dir : dir + "/" + hex_lower(id);
}

std::optional<ConversationId> conversation_from_hex(std::string_view hex) {
  auto bytes = bytes_from_hex_lower(hex);
  if (!bytes || bytes->size() != kConversationIdSize) return std::nullopt;
  ConversationId id{};
  std::memcpy(id.data(), bytes->data(), id.size());
  return id;
}

std::string conversation_tag(const ConversationId& id) {
  const auto md = sha256({reinterpret_cast<const char*>(id.data()), id.size()});
  return hex_lower({md.data(), 4});
}

namespace {

// Waits until fd is ready for events or the deadline passes.
Io wait_for(int fd, short events, Clock::time_point deadline, int* err) {
  for (;;) {
    auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return Io::timeout;
    pollfd p{fd, events, 0};
    int n = ::poll(&p, 1, static_cast<int>(std::min<long long>(left, INT_MAX)));
    if (n < 0) {
      if (errno == EINTR) continue;
      if (err) *err = errno;
      return Io::failed;
    }
    if (n == 0) return Io::timeout;
    return Io::ok;  // readable, writable, hung up or in error: the next call says which
  }
}

}  // namespace

FrameRead read_frame(int fd, Clock::time_point deadline, std::size_t max_frame) {
  FrameRead fr;
  SecureBytes buf(kHeaderSize);
  std::size_t want = kHeaderSize, got = 0;
  bool have_header = false;
  for (;;) {
    while (got < want) {
      if (Io w = wait_for(fd, POLLIN, deadline, &fr.err); w != Io::ok) {
        fr.io = w;
        return fr;
      }
      ssize_t n = ::recv(fd, buf.data() + got, want - got, MSG_DONTWAIT);
      if (n < 0) {
        if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) continue;
        fr.err = errno;
        // A peer that closed with our request unread resets the connection:
        // before any byte of an answer that is a close, as write_all says.
        fr.io = errno == ECONNRESET && got == 0 && !have_header ? Io::closed : Io::failed;
        return fr;
      }
      if (n == 0) {
        if (got == 0 && !have_header) {
          fr.io = Io::closed;
        } else {
          fr.io = Io::ok;
          fr.error = {Detail::malformed, have_header ? "truncated frame: body cut short" : "truncated frame header"};
        }
        return fr;
      }
      got += static_cast<std::size_t>(n);
    }
    if (have_header) break;
    auto hdr = decode_header(std::span<const unsigned char, kHeaderSize>(buf.data(), kHeaderSize), max_frame);
    if (!hdr.ok()) {
      fr.io = Io::ok;
      fr.error = hdr.error;
      return fr;
    }
    have_header = true;
    want = hdr.value;
    got = 0;
    buf.clear();
    buf.resize(want);  // the body only; capacity stays within max_frame
  }
  fr.io = Io::ok;
  fr.body = std::move(buf);
  return fr;
}

void end_answer(int fd) {
  ::shutdown(fd, SHUT_WR);
  unsigned char scratch[4096];
  for (std::size_t dropped = 0; dropped < kMaxRequestSize;) {
    ssize_t n = ::recv(fd, scratch, sizeof scratch, MSG_DONTWAIT);
    if (n <= 0) break;
    dropped += static_cast<std::size_t>(n);
  }
}

Io write_all(int fd, std::span<const unsigned char> bytes, Clock::time_point deadline, int* err) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    if (Io w = wait_for(fd, POLLOUT, deadline, err); w != Io::ok) return w;
    ssize_t n = ::send(fd, bytes.data() + done, bytes.size() - done, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) continue;
      if (err) *err = errno;
      return errno == EPIPE || errno == ECONNRESET ? Io::closed : Io::failed;
    }
    done += static_cast<std::size_t>(n);
  }
  return Io::ok;
}

}  // namespace zsso::broker
