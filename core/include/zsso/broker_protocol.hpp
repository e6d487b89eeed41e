// SPDX-License-Identifier: BSD-3-Clause
// The wire protocol between the CGI (client) and zendesk-sso-authd (broker).
//
// One request and one response per connection, each a frame:
//   "ZSB2"  u32 big-endian body length  body
// A body is a run of fields: u8 tag, u16 big-endian length, value. Every tag
// at most once, unknown tags are errors (a new field means a new version).
//   request  tags: 1 user, 2 password, 3 client address, 4 profile,
//                  5 request id, 6 flags (1 byte: bit 0 = REMOTE_USER mode,
//                  bit 1 = ping: no PAM, the broker answers ok once it has
//                  checked the peer and loaded its config and the secret
//                  (else unavailable with the cause); user "-", no password;
//                  bit 3 = enrol: a password sign-in whose purpose is adding
//                  a security key, issue 23: the broker answers a key
//                  registration step instead of a token;
//                  bit 4 = passkey: a sign-in without user or password,
//                  issue 23 slice 5 (tags 3-7 only, the binding required):
//                  the broker answers a key step for a discoverable key
//                  (no allowed credentials, user verification required)),
//                  7 binding (the browser's conversation cookie),
//                  8 conversation id (16 bytes), 9 step (1 byte),
//                  10 answers (each: u16 length, bytes),
//                  11 session cookie (with flag bit 2, value 4: a session sign-in),
//                  12 key assertion (a continue request answering a key
//                  step, instead of tag 10: four fields, each u16 length and
//                  bytes: credential id, clientDataJSON, authenticatorData,
//                  signature, and a fifth, only when the key sent one: the
//                  userHandle, 1 to kMaxUserHandle bytes, which names the
//                  account of a passkey sign-in)
//                  13 key registration (a continue request answering a key
//                  registration step, instead of tag 10: three fields, each
//                  u16 length and bytes: clientDataJSON, attestationObject,
//                  invite code (0 to kMaxInviteCode printable ASCII bytes,
//                  spaces allowed))
//                  14 key removal (a continue request answering a key
//                  registration step instead: the short id of one of the
//                  account's keys, as tag 12 listed it, to remove)
//   response tags: 1 status (1 byte), 2 detail (1 byte), 3 token,
//                  4 conversation id, 5 step, 6 messages (each: u8 kind,
//                  u16 length, UTF-8 text), 7 cause (for the CGI's log line),
//                  8 session cookie (with ok, when the broker's config has
//                  sessions on: a new or refreshed value for the browser),
//                  9 user (the last answer of a conversation, never a prompt:
//                  the account it was for, which later steps do not carry),
//                  10 key challenge (a prompt asking for a security key,
//                  issue 23: u8 user verification 0 discouraged / 1
//                  preferred / 2 required, then u16 length and bytes of the
//                  challenge (32 bytes), of the rp id, and of each allowed
//                  credential id (0 to 16); such a prompt has no prompt
//                  messages, only info or error lines),
//                  11 key registration (a prompt asking for a new security
//                  key, after the re-authentication of an enrol request:
//                  u8 user verification as in tag 10, u8 flags (bit 0: an
//                  invite code is needed), then u16 length and bytes of the
//                  challenge (32 bytes), of the rp id, of the user handle
//                  (1 to 64 bytes), of the user name, and of each credential
//                  id the new key must not be (0 to 16)); no prompt messages,
//                  12 keys (with tag 11, and with the ok that ends an
//                  enrolment, which carries no token: the account's keys,
//                  each two u16-length parts: short id, type name; 0 to 16)
//
// Tags 10-12 (response), 12-14 (request) and flag bits 3-4 are sent only when the broker's
// configuration has a webauthn section (docs/webauthn.md): without one the
// bytes on the wire are what they were before.
//
// Sessions (issue 13): a "session" request (flag value 4, tags 3-6 and 11,
// no user or password) asks the broker to verify the browser's session
// cookie with session.key_file and run the account checks only (as for
// REMOTE_USER) for the user it names. The web server never holds that key.
//
// A sign-in starts with a request to the broker's socket (tags 1-7). When the
// PAM stack asks more than the password, the answer has status "prompt": a
// conversation id, a step number and the page to show. The broker child that
// holds the PAM transaction then listens on its own socket,
// conversation_socket_path(broker socket, id); the next request goes there
// and carries the id, the same binding, the step and one answer per prompt
// (tags 3, 5, 7-10). The last answer of a conversation is ok or a refusal.
// The limits below are hard: the broker never reads more than a request
// frame may hold, and the client never more than a response frame.
// No PAM and no policy here, so the fuzzers can drive every decoder.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "zsso/result.hpp"
#include "zsso/secret.hpp"

namespace zsso::broker {

inline constexpr std::string_view kMagic = "ZSB2";
inline constexpr std::size_t kHeaderSize = 8;
inline constexpr std::size_t kMaxRequestSize = 8 * 1024;    // whole frame, header included
inline constexpr std::size_t kMaxResponseSize = 64 * 1024;
inline constexpr std::size_t kMaxUser = 256;
inline constexpr std::size_t kMaxPassword = 1024;
inline constexpr std::size_t kMaxClientAddress = 64;         // an IPv6 text form is at most 45
inline constexpr std::size_t kMaxProfile = 64;
inline constexpr std::size_t kMaxRequestId = 64;
inline constexpr std::size_t kMaxToken = 32 * 1024;
inline constexpr std::size_t kConversationIdSize = 16;      // 128 bits from the CSPRNG
inline constexpr std::size_t kMaxBinding = 64;
inline constexpr std::size_t kMaxAnswers = 8;                // prompts on one page
inline constexpr std::size_t kMaxAnswer = 1024;
inline constexpr std::size_t kMaxMessages = 16;
inline constexpr std::size_t kMaxMessageText = 512;
inline constexpr std::size_t kMaxCause = 400;
inline constexpr std::size_t kMaxSession = 1024;             // = zsso::kMaxSessionCookie

inline constexpr std::size_t kKeyChallengeSize = 32;       // RAND_bytes, single use
inline constexpr std::size_t kMaxRpId = 253;
inline constexpr std::size_t kMaxKeyCredentials = 16;
inline constexpr std::size_t kMaxCredentialId = 1023;        // WebAuthn's limit
inline constexpr std::size_t kMaxClientDataJson = 2048;
inline constexpr std::size_t kMaxAuthenticatorData = 1024;
inline constexpr std::size_t kMaxKeySignature = 512;         // RS256 2048: 256; ES256 DER: at most 72
inline constexpr std::size_t kMaxAttestationObject = 4096;   // packed x5c: a certificate or two
inline constexpr std::size_t kMaxInviteCode = 64;
inline constexpr std::size_t kMaxUserHandle = 64;           // WebAuthn's limit for user.id
inline constexpr std::size_t kMaxKeyIdText = 64;            // a key's short id or type name in a list

using ConversationId = std::array<unsigned char, kConversationIdSize>;

// A key step: what the page needs for navigator.credentials.get().
struct KeyChallenge {
  enum class Verification : std::uint8_t { discouraged = 0, preferred = 1, required = 2 };
  std::string challenge;                     // kKeyChallengeSize raw bytes; empty: no key step
  std::string rp_id;                         // printable, 1..kMaxRpId
  Verification user_verification = Verification::preferred;
  std::vector<std::string> credential_ids;   // raw, each 1..kMaxCredentialId; empty: discoverable keys
  bool present() const { return !challenge.empty(); }
  bool operator==(const KeyChallenge&) const = default;
};

// The browser's answer to a key step, the raw bytes the page decoded from
// base64url; the broker verifies them (the CGI only passes them on).
struct KeyAssertion {
  std::string credential_id;                 // 1..kMaxCredentialId
  std::string client_data_json;              // 1..kMaxClientDataJson
  std::string authenticator_data;            // 37..kMaxAuthenticatorData
  std::string signature;                     // 1..kMaxKeySignature
  std::string user_handle;                   // 0..kMaxUserHandle: a discoverable key's userHandle
  bool present() const { return !credential_id.empty(); }
  bool operator==(const KeyAssertion&) const = default;
};

// A key registration step (enrolment): what the page needs for
// navigator.credentials.create().
struct KeyRegistration {
  std::string challenge;                     // kKeyChallengeSize raw bytes; empty: no registration step
  std::string rp_id;                         // printable, 1..kMaxRpId
  KeyChallenge::Verification user_verification = KeyChallenge::Verification::preferred;
  bool invite_needed = false;                // a first key: the page asks for the admin's invite code
  std::string user_handle;                   // raw, 1..kMaxUserHandle (user.id)
  std::string user_name;                     // printable, 1..kMaxUser (user.name, user.displayName)
  std::vector<std::string> exclude_ids;      // raw, 0..kMaxKeyCredentials: the keys the account has
  bool present() const { return !challenge.empty(); }
  bool operator==(const KeyRegistration&) const = default;
};

// The browser's answer to a registration step, raw bytes (decoded from
// base64url by the CGI), and the invite code the person typed (may be empty).
struct KeyRegistrationAnswer {
  std::string client_data_json;              // 1..kMaxClientDataJson
  std::string attestation_object;            // 1..kMaxAttestationObject
  std::string invite_code;                   // 0..kMaxInviteCode printable ASCII (spaces allowed)
  bool present() const { return !client_data_json.empty(); }
  bool operator==(const KeyRegistrationAnswer&) const = default;
};

// One key of an account as the "Security keys" page lists it.
struct KeyListEntry {
  std::string id;                            // short id, printable, 1..kMaxKeyIdText
  std::string type;                          // "es256", "eddsa", "rs256"
  bool operator==(const KeyListEntry&) const = default;
};

// One line of a PAM conversation as the browser sees it. Prompts carry the
// module's own text; info and error messages are shown above them.
struct Message {
  enum class Kind : std::uint8_t { echo_off = 1, echo_on = 2, info = 3, error = 4 };
  Kind kind = Kind::info;
  std::string text;            // printable UTF-8 (newlines allowed), at most kMaxMessageText
  bool is_prompt() const { return kind == Kind::echo_off || kind == Kind::echo_on; }
  bool operator==(const Message&) const = default;
};

// PAM text made fit for the wire and a page: invalid UTF-8 and control
// characters (but newlines) become U+FFFD / spaces, cut at kMaxMessageText
// on a character boundary.
std::string clean_message_text(std::string_view raw);

struct Request {
  std::string user;
  SecureBytes password;        // wiped when freed; empty in REMOTE_USER mode
  std::string client_address;
  std::string profile;         // "" = base configuration
  std::string request_id;
  bool remote_user = false;    // the web server authenticated the user: skip the password
  bool ping = false;           // health check: peer, config and secret only, no PAM, no token
  std::string binding;         // start: the browser's conversation cookie; continue: the same again
  // Continuing a conversation (sent to the conversation's own socket):
  bool continues = false;      // conversation, step and answers set; user and password unused
  ConversationId conversation{};
  std::uint8_t step = 0;
  std::vector<SecureBytes> answers;   // one per prompt of that step, wiped when freed
  KeyAssertion key;            // instead of answers, for a key step
  KeyRegistrationAnswer registration;   // instead of answers, for a key registration step
  std::string key_removal;     // or instead: a listed key's short id to remove (printable, 1..kMaxKeyIdText)
  // A password sign-in whose purpose is adding a security key (flag bit 3).
  bool enrol = false;
  // A passkey sign-in (flag bit 4): no user or password; the key names the account.
  bool passkey = false;
  // A sign-in from a session cookie (flag value 4): the cookie, no user or password.
  bool from_session = false;
  std::string session;
};

// Mirrors zsso::LoginStatus; the numbers are part of the protocol.
// prompt: the conversation goes on (conversation, step and messages set).
enum class Status : std::uint8_t { ok = 0, bad_login = 1, not_allowed = 2, unavailable = 3, error = 4, prompt = 5 };

// Why, in a form the client can log; never shown to the user.
enum class Detail : std::uint8_t {
  none = 0,
  malformed = 1,           // bad frame or field
  too_large = 2,           // frame or field over its limit
  timeout = 3,             // the request did not arrive in time
  peer_refused = 4,        // SO_PEERCRED peer not in broker.allowed_peers
  config = 5,              // the broker cannot load its configuration
  unknown_profile = 6,     // profile not defined in the broker's configuration
  remote_user_disabled = 7,// REMOTE_USER mode asked, helper.trust_remote_user is off
  pam = 8,                 // the PAM transaction said no or failed
  internal = 9,
  busy = 10,               // broker.max_sign_ins sign-ins are running already
  conversation = 11,       // a continue request that does not fit the conversation (binding, step, shape)
  password_expired = 12,   // pam_acct_mgmt: new password needed, not changed here (the page says where)
  timeout_prompt = 13,     // nobody answered the prompt in time (logged; the client sees the socket gone)
  limited = 14,            // this address or account holds its share of the broker already (cause says which)
  key_required = 15,       // webauthn.required_groups: this account must prove a security key and has none
  passwordless_off = 16,   // a passkey request, webauthn.passwordless is off (or no webauthn section)
};
inline constexpr std::uint8_t kMaxDetail = 16;

struct Response {
  Response() = default;
  Response(Status s, Detail d, std::string t = {}) : status(s), detail(d), token(std::move(t)) {}
  Status status = Status::error;
  Detail detail = Detail::none;
  std::string token;           // only with Status::ok; empty in the answer to a ping
  ConversationId conversation{};   // with Status::prompt
  std::uint8_t step = 0;           // with Status::prompt (1, 2, ...)
  std::vector<Message> messages;   // prompt: the page (at least one prompt); else what PAM said last
  // Why, as the broker's own log line says it ("PAM service x:
  // pam_authenticate: Authentication failure; PAM said ..."), so the CGI's
  // line names the cause too. Never a password or an answer.
  std::string cause;
  // With ok, when sessions are on: the browser's new session cookie value.
  std::string session;
  // The last answer of a conversation: the user name it started with (the
  // CGI's later steps do not carry it; helper.password_change_url's %u and
  // the form shown again need it). Printable UTF-8, at most kMaxUser.
  std::string user;
  // With prompt: a key step instead of prompts (issue 23).
  KeyChallenge key;
  // With prompt: a key registration step instead of prompts (enrolment).
  KeyRegistration registration;
  // With a registration step, and with the ok that ends an enrolment.
  std::vector<KeyListEntry> keys;
  bool keys_listed = false;    // the keys field is present (an empty list too)
};

std::string_view status_name(Status s);
std::string_view detail_name(Detail d);

// A protocol failure: what the broker answers with, and a line for the log.
struct ProtocolError {
  Detail detail = Detail::malformed;
  std::string message;
};

template <class T>
struct Decoded {
  bool ok() const { return error.message.empty(); }
  T value;
  ProtocolError error;
};

// Frames. Encoding checks every limit the decoder checks, so a request the
// client builds is never one the broker refuses for its shape.
Result<SecureBytes> encode_request(const Request& req);
Decoded<Request> decode_request_body(std::span<const unsigned char> body);
std::string encode_response(const Response& resp);
Decoded<Response> decode_response_body(std::span<const unsigned char> body);

// The body length the header announces, checked against max_frame.
Decoded<std::uint32_t> decode_header(std::span<const unsigned char, kHeaderSize> header,
                                     std::size_t max_frame);

// Where the broker child holding conversation `id` listens: a directory
// beside the broker's socket ("conv", searchable but not listable by others)
// and the id in hex. Empty when the broker socket path has no directory.
std::string conversation_socket_path(std::string_view broker_socket, const ConversationId& id);
// That directory alone ("" likewise), which the listener prepares.
std::string conversation_dir(std::string_view broker_socket);
// The id back from its hex form (lower case, as conversation_socket_path and
// the sign-in page write it); nothing for anything else.
std::optional<ConversationId> conversation_from_hex(std::string_view hex);
// The first 8 hex digits of SHA-256(id): names a conversation in logs
// without giving away the id.
std::string conversation_tag(const ConversationId& id);

// ---- Frame I/O on a connected stream socket, bounded by a deadline ----

using Clock = std::chrono::steady_clock;

enum class Io { ok, closed, timeout, failed };

// Reads one frame of at most max_frame bytes before the deadline. The body
// lands in wiped memory (a request carries the password).
struct FrameRead {
  Io io = Io::failed;          // ok: see error for a bad frame
  SecureBytes body;
  ProtocolError error;         // set when io == ok but the frame is bad (magic, size, truncated)
  int err = 0;                 // errno when io == failed
};
FrameRead read_frame(int fd, Clock::time_point deadline, std::size_t max_frame);

// Writes all bytes before the deadline; never raises SIGPIPE.
Io write_all(int fd, std::span<const unsigned char> bytes, Clock::time_point deadline, int* err = nullptr);

// After the broker's answer: ends its side (SHUT_WR) and drops what the peer
// sent and nobody read (up to kMaxRequestSize), so the peer sees an end of
// stream, not a reset that could discard the answer before it is read.
void end_answer(int fd);

}  // namespace zsso::broker
