// SPDX-License-Identifier: BSD-3-Clause
// The broker protocol (zsso/broker_protocol.hpp): what zendesk-sso-authd
// reads from its peers and what the CGI reads back. The first byte picks:
//   0: a request body    - decodes, or re-encodes and decodes to the same request
//                          (start and continue requests: binding, conversation,
//                          step, answers, a key assertion or a key registration;
//                          the enrol flag; a passkey request, a key assertion's
//                          user handle)
//   1: a response body   - the same round trip for responses (prompt answers:
//                          conversation, step, messages, a key challenge or a
//                          key registration; the keys listed)
//   2: a frame header    - the announced length never exceeds the limit
//   3: a byte stream     - read_frame over a socketpair: a good frame's body is
//                          exactly the bytes announced, never more than the limit
//   4: PAM text          - clean_message_text: printable UTF-8 within the limit,
//                          unchanged by a second pass, always fit for the wire
//   5: built frames      - a continue request and a prompt answer made from the
//                          bytes: what encode produces decodes to the same
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "fuzz_support.hpp"
#include "zsso/broker_protocol.hpp"

namespace zb = zsso::broker;

namespace {

bool same(const zb::Request& a, const zb::Request& b) {
  return a.user == b.user && a.password == b.password && a.client_address == b.client_address &&
         a.profile == b.profile && a.request_id == b.request_id && a.remote_user == b.remote_user &&
         a.binding == b.binding && a.continues == b.continues && a.conversation == b.conversation &&
         a.step == b.step && a.answers == b.answers && a.from_session == b.from_session && a.session == b.session &&
         a.key == b.key && a.registration == b.registration && a.key_removal == b.key_removal && a.enrol == b.enrol &&
         a.passkey == b.passkey;
}

bool same(const zb::Response& a, const zb::Response& b) {
  return a.status == b.status && a.detail == b.detail && a.token == b.token && a.messages == b.messages && a.session == b.session &&
         a.user == b.user && a.key == b.key && a.registration == b.registration && a.keys == b.keys &&
         a.keys_listed == b.keys_listed &&
         (a.status != zb::Status::prompt || (a.conversation == b.conversation && a.step == b.step));
}

// Printable UTF-8, newlines allowed: what a page may show.
bool is_clean(std::string_view t) {
  for (std::size_t i = 0; i < t.size();) {
    const auto c = static_cast<unsigned char>(t[i]);
    if (c < 0x80) {
      if ((c < 0x20 && c != '\n') || c == 0x7f) return false;
      ++i;
      continue;
    }
    std::size_t n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 ? 2 : 0;
    if (n == 0 || c > 0xf4 || i + n > t.size()) return false;
    for (std::size_t k = 1; k < n; ++k)
      if ((static_cast<unsigned char>(t[i + k]) & 0xc0) != 0x80) return false;
    i += n;
  }
  return true;
}

std::span<const unsigned char> body_of(const auto& frame) {
  return {reinterpret_cast<const unsigned char*>(frame.data()) + zb::kHeaderSize,
          frame.size() - zb::kHeaderSize};
}

void request_body(std::span<const unsigned char> in) {
  auto d = zb::decode_request_body(in);
  if (!d.ok()) {
    FUZZ_CHECK(d.error.detail == zb::Detail::malformed || d.error.detail == zb::Detail::too_large);
    return;
  }
  const zb::Request& r = d.value;
  if (r.continues) {
    // A continue request names its conversation and carries answers, never a user or password.
    FUZZ_CHECK(r.user.empty() && r.password.empty() && r.profile.empty() && !r.remote_user);
    FUZZ_CHECK(!r.binding.empty() && r.binding.size() <= zb::kMaxBinding);
    FUZZ_CHECK(r.step >= 1);
    // Answers to prompts, or a key assertion, or a key registration (issue 23): one of them.
    FUZZ_CHECK(!r.enrol);
    FUZZ_CHECK(int{r.key.present()} + int{r.registration.present()} + int{!r.key_removal.empty()} +
                   int{!r.answers.empty()} ==
               1);
    FUZZ_CHECK(r.key_removal.size() <= zb::kMaxKeyIdText);
    FUZZ_CHECK(r.answers.size() <= zb::kMaxAnswers);
    FUZZ_CHECK(r.registration.client_data_json.size() <= zb::kMaxClientDataJson &&
               r.registration.attestation_object.size() <= zb::kMaxAttestationObject &&
               r.registration.invite_code.size() <= zb::kMaxInviteCode);
    for (const auto& a : r.answers) FUZZ_CHECK(a.size() <= zb::kMaxAnswer);
    FUZZ_CHECK(r.key.credential_id.size() <= zb::kMaxCredentialId &&
               r.key.client_data_json.size() <= zb::kMaxClientDataJson &&
               r.key.authenticator_data.size() <= zb::kMaxAuthenticatorData &&
               r.key.signature.size() <= zb::kMaxKeySignature && r.key.user_handle.size() <= zb::kMaxUserHandle);
    FUZZ_CHECK(!r.passkey);
  } else if (r.passkey) {
    // A passkey sign-in: the binding, no user, password or other flag (slice 5).
    FUZZ_CHECK(r.user.empty() && r.password.empty() && !r.remote_user && !r.ping && !r.enrol && !r.from_session);
    FUZZ_CHECK(!r.binding.empty() && r.binding.size() <= zb::kMaxBinding);
  } else if (r.from_session) {
    // A session sign-in carries the cookie, never a user or password.
    FUZZ_CHECK(r.user.empty() && r.password.empty() && !r.session.empty());
  } else {
    FUZZ_CHECK(!r.user.empty());
    FUZZ_CHECK(!r.remote_user || r.password.empty());
    FUZZ_CHECK(r.step == 0 && r.answers.empty() && !r.key.present() && !r.registration.present() &&
               r.key_removal.empty());
    FUZZ_CHECK(r.binding.size() <= zb::kMaxBinding);
    // An enrolment is a password sign-in.
    FUZZ_CHECK(!r.enrol || (!r.remote_user && !r.ping));
  }
  auto frame = zb::encode_request(d.value);   // what the broker accepts, the client can send
  FUZZ_CHECK(frame.ok());
  FUZZ_CHECK(frame->size() <= zb::kMaxRequestSize);
  auto again = zb::decode_request_body(body_of(*frame));
  FUZZ_CHECK(again.ok() && same(again.value, d.value));
}

void response_body(std::span<const unsigned char> in) {
  auto d = zb::decode_response_body(in);
  if (!d.ok()) return;
  const zb::Response& r = d.value;
  // A token only with ok; ok without one is the answer to a ping (never a sign-in:
  // broker_login refuses it), and a session cookie needs the token beside it.
  FUZZ_CHECK(r.status == zb::Status::ok || r.token.empty());
  FUZZ_CHECK(r.session.empty() || !r.token.empty());
  // The account name comes only with a conversation's last answer, printable.
  FUZZ_CHECK(r.user.empty() || (r.status != zb::Status::prompt && r.user.size() <= zb::kMaxUser && is_clean(r.user) &&
                                r.user.find('\n') == std::string::npos));
  // A prompt answer asks 1 to kMaxAnswers things at a step >= 1; other answers ask nothing.
  auto prompts = static_cast<std::size_t>(
      std::count_if(r.messages.begin(), r.messages.end(), [](const zb::Message& m) { return m.is_prompt(); }));
  // A key step (issue 23) is a prompt answer that asks for a key instead.
  if (r.key.present())
    FUZZ_CHECK(r.status == zb::Status::prompt && r.step >= 1 && prompts == 0 && !r.registration.present() &&
               r.key.challenge.size() == zb::kKeyChallengeSize && !r.key.rp_id.empty() &&
               r.key.credential_ids.size() <= zb::kMaxKeyCredentials);
  // So is a key registration (an enrolment), with the user handle and name the browser needs.
  else if (r.registration.present())
    FUZZ_CHECK(r.status == zb::Status::prompt && r.step >= 1 && prompts == 0 &&
               r.registration.challenge.size() == zb::kKeyChallengeSize && !r.registration.rp_id.empty() &&
               !r.registration.user_handle.empty() && r.registration.user_handle.size() <= zb::kMaxUserHandle &&
               !r.registration.user_name.empty() && r.registration.exclude_ids.size() <= zb::kMaxKeyCredentials);
  else if (r.status == zb::Status::prompt) FUZZ_CHECK(r.step >= 1 && prompts >= 1 && prompts <= zb::kMaxAnswers);
  else FUZZ_CHECK(prompts == 0);
  // The keys: with a registration step, or the ok that ends an enrolment (no token).
  FUZZ_CHECK(r.keys_listed || r.keys.empty());
  if (r.keys_listed)
    FUZZ_CHECK(r.keys.size() <= zb::kMaxKeyCredentials &&
               (r.registration.present() || (r.status == zb::Status::ok && r.token.empty())));
  FUZZ_CHECK(r.messages.size() <= zb::kMaxMessages);
  for (const auto& m : r.messages) FUZZ_CHECK(m.text.size() <= zb::kMaxMessageText && is_clean(m.text));
  std::string frame = zb::encode_response(r);
  FUZZ_CHECK(frame.size() <= zb::kMaxResponseSize);
  auto again = zb::decode_response_body(body_of(frame));
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(same(again.value, r));
}

void pam_text(std::span<const unsigned char> in) {
  std::string_view raw(reinterpret_cast<const char*>(in.data()), in.size());
  std::string clean = zb::clean_message_text(raw);
  FUZZ_CHECK(clean.size() <= zb::kMaxMessageText);
  FUZZ_CHECK(is_clean(clean));
  FUZZ_CHECK(zb::clean_message_text(clean) == clean);
  // Whatever a module says, cleaned, goes on the wire and comes back unchanged.
  zb::Response resp;
  resp.status = zb::Status::prompt;
  resp.step = 1;
  resp.messages = {{zb::Message::Kind::error, clean}, {zb::Message::Kind::echo_off, clean}};
  auto back = zb::decode_response_body(body_of(zb::encode_response(resp)));
  FUZZ_CHECK(back.ok() && same(back.value, resp));
}

// Reads a length-prefixed piece (1 byte length) from in.
std::string take(std::span<const unsigned char>& in, std::size_t max) {
  if (in.empty()) return {};
  std::size_t n = std::min<std::size_t>({in[0], in.size() - 1, max});
  std::string out(reinterpret_cast<const char*>(in.data()) + 1, n);
  in = in.subspan(1 + n);
  return out;
}

void built(std::span<const unsigned char> in) {
  // A continue request as the CGI builds it.
  zb::Request req;
  req.continues = true;
  for (std::size_t i = 0; i < req.conversation.size() && !in.empty(); ++i, in = in.subspan(1))
    req.conversation[i] = in[0];
  req.step = in.empty() ? 1 : in[0];
  if (!in.empty()) in = in.subspan(1);
  req.binding = take(in, 80);
  req.client_address = "127.0.0.1";
  req.request_id = take(in, 16);
  const std::size_t n_answers = in.empty() ? 1 : in[0] % 10;
  if (!in.empty()) in = in.subspan(1);
  for (std::size_t k = 0; k < n_answers; ++k) {
    std::string a = take(in, 255);
    req.answers.emplace_back(a.begin(), a.end());
  }
  auto frame = zb::encode_request(req);
  if (frame.ok()) {
    FUZZ_CHECK(frame->size() <= zb::kMaxRequestSize);
    auto back = zb::decode_request_body(body_of(*frame));
    FUZZ_CHECK(back.ok() && same(back.value, req));
  } else {
    // Refused only for a shape the broker would refuse too: never a plain one.
    auto plain = [](std::string_view t) {
      return std::all_of(t.begin(), t.end(), [](char c) { return c >= 0x20 && c < 0x7f; });
    };
    bool answers_plain = std::all_of(req.answers.begin(), req.answers.end(), [](const zsso::SecureBytes& a) {
      return std::find(a.begin(), a.end(), 0) == a.end();
    });
    FUZZ_CHECK(req.step == 0 || req.binding.empty() || req.binding.size() > zb::kMaxBinding ||
               req.answers.empty() || req.answers.size() > zb::kMaxAnswers || !answers_plain ||
               !plain(req.binding) || !plain(req.request_id));
  }
  // A prompt answer as the broker builds it from what PAM said.
  zb::Response resp;
  resp.status = zb::Status::prompt;
  resp.conversation = req.conversation;
  resp.step = req.step;
  const std::size_t n_messages = in.empty() ? 1 : in[0] % 20;
  if (!in.empty()) in = in.subspan(1);
  for (std::size_t k = 0; k < n_messages; ++k) {
    auto kind = static_cast<zb::Message::Kind>(1 + (in.empty() ? 0 : in[0] % 4));
    std::string text = take(in, 255);
    resp.messages.push_back({kind, zb::clean_message_text(text)});
  }
  std::string out = zb::encode_response(resp);
  auto back = zb::decode_response_body(body_of(out));
  FUZZ_CHECK(back.ok());
  if (back.value.status == zb::Status::prompt) FUZZ_CHECK(same(back.value, resp));
  else FUZZ_CHECK(back.value.status == zb::Status::error && back.value.detail == zb::Detail::internal);
}

void header(std::span<const unsigned char> in) {
  if (in.size() < zb::kHeaderSize) return;
  for (std::size_t max : {zb::kMaxRequestSize, zb::kMaxResponseSize}) {
    auto h = zb::decode_header(in.first<zb::kHeaderSize>(), max);
    if (h.ok()) FUZZ_CHECK(h.value <= max - zb::kHeaderSize);
  }
}

void stream(std::span<const unsigned char> in) {
  int sv[2];
  FUZZ_CHECK(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
  // Fuzz inputs are far smaller than a socket buffer: write all, then hang up.
  FUZZ_CHECK(::send(sv[1], in.data(), in.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(in.size()));
  ::shutdown(sv[1], SHUT_WR);
  auto fr = zb::read_frame(sv[0], zb::Clock::now() + std::chrono::seconds(5), zb::kMaxRequestSize);
  ::close(sv[0]);
  ::close(sv[1]);
  FUZZ_CHECK(fr.io == zb::Io::ok || fr.io == zb::Io::closed);
  if (fr.io == zb::Io::closed) {
    FUZZ_CHECK(in.empty());
    return;
  }
  if (!fr.error.message.empty()) return;
  FUZZ_CHECK(fr.body.size() + zb::kHeaderSize <= zb::kMaxRequestSize);
  FUZZ_CHECK(in.size() >= zb::kHeaderSize + fr.body.size());
  FUZZ_CHECK(std::equal(fr.body.begin(), fr.body.end(), in.begin() + zb::kHeaderSize));
  request_body({fr.body.data(), fr.body.size()});
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::span<const unsigned char> rest(data + 1, size - 1);
  switch (data[0] & 7) {
    case 0: request_body(rest); break;
    case 1: response_body(rest); break;
    case 2: header(rest); break;
    case 3: stream(rest); break;
    case 4: pam_text(rest); break;
    case 5: built(rest); break;
    default: break;
  }
  return 0;
}
