// SPDX-License-Identifier: BSD-3-Clause
#include "zsso/broker_protocol.hpp"

#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <optional>
#include <tuple>

#include "zsso/text.hpp"

namespace zsso::broker {

namespace {

enum RequestTag : std::uint8_t { kUser = 1, kPassword = 2, kClientAddress = 3, kProfile = 4, kRequestId = 5, kFlags = 6 };
enum ResponseTag : std::uint8_t { kStatus = 1, kDetail = 2, kToken = 3 };
constexpr std::uint8_t kFlagRemoteUser = 0x01;
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
  }
  return "?";
}

Result<SecureBytes> encode_request(const Request& req) {
  if (req.user.empty()) return Error{"user is empty"};
  for (auto [v, max, name] : {std::tuple{std::string_view(req.user), kMaxUser, "user"},
                              std::tuple{std::string_view(req.client_address), kMaxClientAddress, "client address"},
                              std::tuple{std::string_view(req.profile), kMaxProfile, "profile"},
                              std::tuple{std::string_view(req.request_id), kMaxRequestId, "request id"}})
    if (auto bad = check_text(v, max, name)) return Error{bad->message};
  if (req.password.size() > kMaxPassword)
    return Error{"password longer than " + std::to_string(kMaxPassword) + " bytes"};
  if (std::find(req.password.begin(), req.password.end(), 0) != req.password.end())
    return Error{"password contains a NUL byte"};
  if (req.remote_user && !req.password.empty()) return Error{"REMOTE_USER mode carries no password"};

  SecureBytes out;
  start_frame(out);
  put_field(out, kUser, req.user);
  put_field(out, kPassword, req.password.data(), req.password.size());
  put_field(out, kClientAddress, req.client_address);
  if (!req.profile.empty()) put_field(out, kProfile, req.profile);
  if (!req.request_id.empty()) put_field(out, kRequestId, req.request_id);
  unsigned char flags = req.remote_user ? kFlagRemoteUser : 0;
  put_field(out, kFlags, &flags, 1);
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
        if (f.value.size() != 1 || (f.value[0] & ~kFlagRemoteUser)) {
          err = {Detail::malformed, "unknown flags"};
          good = false;
        } else {
          r.remote_user = f.value[0] & kFlagRemoteUser;
        }
        break;
      default: err = {Detail::malformed, "unknown field " + std::to_string(f.tag)}; good = false;
    }
    if (!good) return failed<Request>(std::move(err));
  }
  if (fields.failed()) return failed<Request>(fields.error());
  for (auto tag : {kUser, kPassword, kClientAddress, kFlags})
    if (!fields.seen(tag)) return failed<Request>({Detail::malformed, "field " + std::to_string(tag) + " missing"});
  if (r.user.empty()) return failed<Request>({Detail::malformed, "user is empty"});
  if (r.remote_user && !r.password.empty())
    return failed<Request>({Detail::malformed, "REMOTE_USER mode carries no password"});
  return d;
}

std::string encode_response(const Response& resp) {
  std::string out;
  start_frame(out);
  auto status = static_cast<unsigned char>(resp.status);
  auto detail = static_cast<unsigned char>(resp.detail);
  put_field(out, kStatus, &status, 1);
  put_field(out, kDetail, &detail, 1);
  // A token over the limit is the broker's own bug: answer an error instead.
  if (resp.status == Status::ok && resp.token.size() <= kMaxToken) put_field(out, kToken, resp.token);
  else if (resp.status == Status::ok) return encode_response({Status::error, Detail::internal, {}});
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
        if (f.value.size() != 1 || f.value[0] > static_cast<unsigned char>(Status::error))
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
      default: return failed<Response>({Detail::malformed, "unknown field " + std::to_string(f.tag)});
    }
  }
  if (fields.failed()) return failed<Response>(fields.error());
  if (!fields.seen(kStatus) || !fields.seen(kDetail)) return failed<Response>({Detail::malformed, "status missing"});
  if ((r.status == Status::ok) != fields.seen(kToken))
    return failed<Response>({Detail::malformed, "token present without ok, or ok without token"});
  return d;
}

Decoded<std::uint32_t> decode_header(std::span<const unsigned char, kHeaderSize> header, std::size_t max_frame) {
  if (!std::equal(kMagic.begin(), kMagic.end(), header.begin()))
    return failed<std::uint32_t>({Detail::malformed, "bad magic (not a ZSB1 frame)"});
  std::uint32_t len = 0;
  for (std::size_t i = 4; i < kHeaderSize; ++i) len = (len << 8) | header[i];
  if (std::size_t{len} > max_frame - kHeaderSize)
    return failed<std::uint32_t>({Detail::too_large, "frame announces " + std::to_string(len) +
                                                         " bytes; the limit is " + std::to_string(max_frame)});
  Decoded<std::uint32_t> d;
  d.value = len;
  return d;
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
        fr.io = Io::failed;
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
