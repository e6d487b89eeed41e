// The broker protocol (zsso/broker_protocol.hpp): what zendesk-sso-authd
// reads from its peers and what the CGI reads back. The first byte picks:
//   0: a request body    - decodes, or re-encodes and decodes to the same request
//   1: a response body   - the same round trip for responses
//   2: a frame header    - the announced length never exceeds the limit
//   3: a byte stream     - read_frame over a socketpair: a good frame's body is
//                          exactly the bytes announced, never more than the limit
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>

#include "fuzz_support.hpp"
#include "zsso/broker_protocol.hpp"

namespace zb = zsso::broker;

namespace {

bool same(const zb::Request& a, const zb::Request& b) {
  return a.user == b.user && a.password == b.password && a.client_address == b.client_address &&
         a.profile == b.profile && a.request_id == b.request_id && a.remote_user == b.remote_user &&
         a.from_session == b.from_session && a.session == b.session;
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
  // Only a start request names a user; continue and session requests do not.
  FUZZ_CHECK(!d.value.user.empty() || d.value.continues || d.value.from_session);
  FUZZ_CHECK(!d.value.from_session || (d.value.user.empty() && d.value.password.empty() && !d.value.session.empty()));
  FUZZ_CHECK(!d.value.remote_user || d.value.password.empty());
  auto frame = zb::encode_request(d.value);   // what the broker accepts, the client can send
  FUZZ_CHECK(frame.ok());
  FUZZ_CHECK(frame->size() <= zb::kMaxRequestSize);
  auto again = zb::decode_request_body(body_of(*frame));
  FUZZ_CHECK(again.ok() && same(again.value, d.value));
}

void response_body(std::span<const unsigned char> in) {
  auto d = zb::decode_response_body(in);
  if (!d.ok()) return;
  FUZZ_CHECK((d.value.status == zb::Status::ok) == !d.value.token.empty());
  std::string frame = zb::encode_response(d.value);
  FUZZ_CHECK(frame.size() <= zb::kMaxResponseSize);
  auto again = zb::decode_response_body(body_of(frame));
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(again.value.status == d.value.status && again.value.detail == d.value.detail &&
             again.value.token == d.value.token && again.value.session == d.value.session);
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
  switch (data[0] & 3) {
    case 0: request_body(rest); break;
    case 1: response_body(rest); break;
    case 2: header(rest); break;
    case 3: stream(rest); break;
  }
  return 0;
}
