// SPDX-License-Identifier: BSD-3-Clause
// The wire protocol between the CGI (client) and zendesk-sso-authd (broker).
//
// One request and one response per connection, each a frame:
//   "ZSB1"  u32 big-endian body length  body
// A body is a run of fields: u8 tag, u16 big-endian length, value. Every tag
// at most once, unknown tags are errors (a new field means a new version).
//   request  tags: 1 user, 2 password, 3 client address, 4 profile,
//                  5 request id, 6 flags (1 byte: bit 0 = REMOTE_USER mode)
//   response tags: 1 status (1 byte), 2 detail (1 byte), 3 token
// The limits below are hard: the broker never reads more than a request
// frame may hold, and the client never more than a response frame.
// No PAM and no policy here, so the fuzzers can drive every decoder.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "zsso/result.hpp"
#include "zsso/secret.hpp"

namespace zsso::broker {

inline constexpr std::string_view kMagic = "ZSB1";
inline constexpr std::size_t kHeaderSize = 8;
inline constexpr std::size_t kMaxRequestSize = 8 * 1024;    // whole frame, header included
inline constexpr std::size_t kMaxResponseSize = 64 * 1024;
inline constexpr std::size_t kMaxUser = 256;
inline constexpr std::size_t kMaxPassword = 1024;
inline constexpr std::size_t kMaxClientAddress = 64;         // an IPv6 text form is at most 45
inline constexpr std::size_t kMaxProfile = 64;
inline constexpr std::size_t kMaxRequestId = 64;
inline constexpr std::size_t kMaxToken = 32 * 1024;

struct Request {
  std::string user;
  SecureBytes password;        // wiped when freed; empty in REMOTE_USER mode
  std::string client_address;
  std::string profile;         // "" = base configuration
  std::string request_id;
  bool remote_user = false;    // the web server authenticated the user: skip the password
};

// Mirrors zsso::LoginStatus; the numbers are part of the protocol.
enum class Status : std::uint8_t { ok = 0, bad_login = 1, not_allowed = 2, unavailable = 3, error = 4 };

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
};
inline constexpr std::uint8_t kMaxDetail = 9;

struct Response {
  Status status = Status::error;
  Detail detail = Detail::none;
  std::string token;           // only with Status::ok
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

}  // namespace zsso::broker
