// SPDX-License-Identifier: BSD-3-Clause
// The broker wire format and its frame I/O, pinned down byte by byte.
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "zsso/broker_protocol.hpp"
#include "zsso/unique_fd.hpp"

namespace zsso::broker {
namespace {

using Bytes = std::vector<unsigned char>;

SecureBytes secure(std::string_view s) { return SecureBytes(s.begin(), s.end()); }

Request sample() {
  Request r;
  r.user = "alice";
  r.password = secure("wonder land");
  r.client_address = "10.1.2.3";
  r.profile = "agents";
  r.request_id = "rid-42";
  return r;
}

std::span<const unsigned char> body_of(const SecureBytes& frame) {
  return std::span<const unsigned char>(frame).subspan(kHeaderSize);
}

// A field as the protocol describes it: tag, u16 length, value.
Bytes field(unsigned char tag, std::string_view v) {
  Bytes out(3 + v.size());
  out[0] = tag;
  out[1] = static_cast<unsigned char>(v.size() >> 8);
  out[2] = static_cast<unsigned char>(v.size());
  std::copy(v.begin(), v.end(), out.begin() + 3);
  return out;
}

Bytes cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

const Bytes kMinimalBody = cat({field(1, "bob"), field(2, "pw"), field(3, ""), field(6, std::string_view("\0", 1))});

TEST(BrokerProtocol, RequestRoundTrips) {
  auto frame = encode_request(sample());
  ASSERT_TRUE(frame.ok()) << frame.error();
  auto d = decode_request_body(body_of(*frame));
  ASSERT_TRUE(d.ok()) << d.error.message;
  EXPECT_EQ(d.value.user, "alice");
  EXPECT_EQ(std::string(d.value.password.begin(), d.value.password.end()), "wonder land");
  EXPECT_EQ(d.value.client_address, "10.1.2.3");
  EXPECT_EQ(d.value.profile, "agents");
  EXPECT_EQ(d.value.request_id, "rid-42");
  EXPECT_FALSE(d.value.remote_user);
}

TEST(BrokerProtocol, FrameHeaderIsMagicAndBigEndianLength) {
  auto frame = encode_request(sample());
  ASSERT_TRUE(frame.ok());
  ASSERT_GE(frame->size(), kHeaderSize);
  EXPECT_EQ(std::string(frame->begin(), frame->begin() + 4), "ZSB1");
  std::size_t len = (std::size_t{(*frame)[4]} << 24) | ((*frame)[5] << 16) | ((*frame)[6] << 8) | (*frame)[7];
  EXPECT_EQ(len, frame->size() - kHeaderSize);
}

TEST(BrokerProtocol, DecodesAHandWrittenMinimalRequest) {
  auto d = decode_request_body(kMinimalBody);
  ASSERT_TRUE(d.ok()) << d.error.message;
  EXPECT_EQ(d.value.user, "bob");
  EXPECT_TRUE(d.value.profile.empty());
}

TEST(BrokerProtocol, RemoteUserModeCarriesNoPassword) {
  Request r = sample();
  r.remote_user = true;
  EXPECT_FALSE(encode_request(r).ok());
  r.password.clear();
  auto frame = encode_request(r);
  ASSERT_TRUE(frame.ok());
  auto d = decode_request_body(body_of(*frame));
  ASSERT_TRUE(d.ok());
  EXPECT_TRUE(d.value.remote_user);
  auto bad = decode_request_body(cat({field(1, "bob"), field(2, "pw"), field(3, ""), field(6, "\x01")}));
  EXPECT_EQ(bad.error.detail, Detail::malformed);
}

TEST(BrokerProtocol, EncoderEnforcesTheDecodersLimits) {
  Request r = sample();
  r.user = std::string(kMaxUser + 1, 'u');
  EXPECT_FALSE(encode_request(r).ok());
  r = sample();
  r.password = SecureBytes(kMaxPassword + 1, 'p');
  EXPECT_FALSE(encode_request(r).ok());
  r = sample();
  r.password = secure(std::string_view("a\0b", 3));
  EXPECT_FALSE(encode_request(r).ok());
  r = sample();
  r.user = "";
  EXPECT_FALSE(encode_request(r).ok());
  r = sample();
  r.user = "tab\there";
  EXPECT_FALSE(encode_request(r).ok());
  r = sample();
  r.user = std::string(kMaxUser, 'u');
  r.password = SecureBytes(kMaxPassword, 'p');
  EXPECT_TRUE(encode_request(r).ok());
}

TEST(BrokerProtocol, OversizedFieldsAreTooLarge) {
  auto big_user = decode_request_body(cat({field(1, std::string(kMaxUser + 1, 'u')), field(2, "pw"), field(3, ""),
                                           field(6, std::string_view("\0", 1))}));
  EXPECT_EQ(big_user.error.detail, Detail::too_large);
  auto big_pw = decode_request_body(cat({field(1, "bob"), field(2, std::string(kMaxPassword + 1, 'p')),
                                         field(3, ""), field(6, std::string_view("\0", 1))}));
  EXPECT_EQ(big_pw.error.detail, Detail::too_large);
  Bytes huge(kMaxRequestSize, 0);
  EXPECT_EQ(decode_request_body(huge).error.detail, Detail::too_large);
}

TEST(BrokerProtocol, MalformedBodiesAreRefused) {
  const std::vector<std::pair<const char*, Bytes>> cases = {
      {"empty", {}},
      {"short field header", {1, 0}},
      {"runs past the end", {1, 0, 9, 'a'}},
      {"duplicate", cat({kMinimalBody, field(1, "eve")})},
      {"unknown tag", cat({kMinimalBody, field(7, "x")})},
      {"tag zero", cat({kMinimalBody, field(0, "x")})},
      {"tag 255", cat({kMinimalBody, field(255, "x")})},
      {"missing user", cat({field(2, "pw"), field(3, ""), field(6, std::string_view("\0", 1))})},
      {"flags too long", cat({field(1, "bob"), field(2, "pw"), field(3, ""), field(6, "ab")})},
      {"bad utf-8", cat({field(1, "b\xc3"), field(2, "pw"), field(3, ""), field(6, std::string_view("\0", 1))})},
      {"NUL in password", cat({field(1, "bob"), field(2, std::string_view("p\0w", 3)), field(3, ""),
                               field(6, std::string_view("\0", 1))})},
  };
  for (const auto& [name, body] : cases) {
    auto d = decode_request_body(body);
    EXPECT_FALSE(d.ok()) << name;
    EXPECT_EQ(d.error.detail, Detail::malformed) << name << ": " << d.error.message;
  }
}

TEST(BrokerProtocol, HeaderChecksMagicAndLimit) {
  std::array<unsigned char, kHeaderSize> h{'Z', 'S', 'B', '1', 0, 0, 0x1f, 0xf8};  // 8184: the most allowed
  EXPECT_TRUE(decode_header(h, kMaxRequestSize).ok());
  h[7] = 0xf9;
  EXPECT_EQ(decode_header(h, kMaxRequestSize).error.detail, Detail::too_large);
  h = {'Z', 'S', 'B', '1', 0xff, 0xff, 0xff, 0xff};
  EXPECT_EQ(decode_header(h, kMaxRequestSize).error.detail, Detail::too_large);
  h = {'Z', 'S', 'B', '2', 0, 0, 0, 1};
  EXPECT_EQ(decode_header(h, kMaxRequestSize).error.detail, Detail::malformed);
}

TEST(BrokerProtocol, ResponseRoundTrips) {
  std::string ok = encode_response({Status::ok, Detail::none, "aGVhZA.Ym9keQ.c2ln"});
  auto d = decode_response_body(std::span(reinterpret_cast<const unsigned char*>(ok.data()), ok.size()).subspan(kHeaderSize));
  ASSERT_TRUE(d.ok()) << d.error.message;
  EXPECT_EQ(d.value.status, Status::ok);
  EXPECT_EQ(d.value.token, "aGVhZA.Ym9keQ.c2ln");

  std::string no = encode_response({Status::bad_login, Detail::pam, "ignored"});
  auto n = decode_response_body(std::span(reinterpret_cast<const unsigned char*>(no.data()), no.size()).subspan(kHeaderSize));
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(n.value.status, Status::bad_login);
  EXPECT_EQ(n.value.detail, Detail::pam);
  EXPECT_TRUE(n.value.token.empty()) << "a token only ever travels with ok";
}

TEST(BrokerProtocol, ClientRefusesAnswersThatAreNotTokens) {
  auto status = field(1, std::string_view("\0", 1));
  auto detail = field(2, std::string_view("\0", 1));
  EXPECT_FALSE(decode_response_body(cat({status, detail, field(3, "<script>")})).ok());
  EXPECT_FALSE(decode_response_body(cat({status, detail})).ok()) << "ok without a token";
  EXPECT_FALSE(decode_response_body(cat({field(1, "\x05"), detail})).ok()) << "unknown status";
  EXPECT_FALSE(decode_response_body(cat({field(1, "\x01"), field(2, "\x63")})).ok()) << "unknown detail";
  EXPECT_FALSE(decode_response_body(cat({field(1, "\x01"), detail, field(3, "a.b.c")})).ok())
      << "token without ok";
}

struct SocketPair {
  SocketPair() {
    int fds[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
    a.reset(fds[0]);
    b.reset(fds[1]);
  }
  UniqueFd a, b;
};

TEST(BrokerFrameIo, ReadsAWholeFrameSentInPieces) {
  SocketPair sp;
  auto frame = encode_request(sample());
  ASSERT_TRUE(frame.ok());
  std::thread writer([&] {
    for (unsigned char c : *frame) ASSERT_EQ(::write(sp.b.get(), &c, 1), 1);
  });
  auto fr = read_frame(sp.a.get(), Clock::now() + std::chrono::seconds(30), kMaxRequestSize);
  writer.join();
  ASSERT_EQ(fr.io, Io::ok);
  ASSERT_TRUE(fr.error.message.empty()) << fr.error.message;
  EXPECT_EQ(fr.body.size(), frame->size() - kHeaderSize);
  EXPECT_TRUE(decode_request_body(fr.body).ok());
}

TEST(BrokerFrameIo, SilentPeerTimesOut) {
  SocketPair sp;
  ASSERT_EQ(::write(sp.b.get(), "ZSB1", 4), 4);
  auto fr = read_frame(sp.a.get(), Clock::now() + std::chrono::milliseconds(200), kMaxRequestSize);
  EXPECT_EQ(fr.io, Io::timeout);
}

TEST(BrokerFrameIo, CloseBeforeAnyByteIsClosedMidFrameIsTruncated) {
  {
    SocketPair sp;
    sp.b.reset();
    EXPECT_EQ(read_frame(sp.a.get(), Clock::now() + std::chrono::seconds(30), kMaxRequestSize).io, Io::closed);
  }
  {
    SocketPair sp;
    ASSERT_EQ(::write(sp.b.get(), "ZSB1\0\0\0\x10" "abc", 11), 11);
    sp.b.reset();
    auto fr = read_frame(sp.a.get(), Clock::now() + std::chrono::seconds(30), kMaxRequestSize);
    EXPECT_EQ(fr.io, Io::ok);
    EXPECT_EQ(fr.error.detail, Detail::malformed);
    EXPECT_NE(fr.error.message.find("truncated"), std::string::npos);
  }
}

TEST(BrokerFrameIo, OversizedAnnouncementIsRefusedWithoutReadingOn) {
  SocketPair sp;
  ASSERT_EQ(::write(sp.b.get(), "ZSB1\x7f\xff\xff\xff", 8), 8);
  auto fr = read_frame(sp.a.get(), Clock::now() + std::chrono::seconds(30), kMaxRequestSize);
  EXPECT_EQ(fr.io, Io::ok);
  EXPECT_EQ(fr.error.detail, Detail::too_large);
  EXPECT_TRUE(fr.body.empty());
}

TEST(BrokerFrameIo, WriteToAClosedPeerIsClosedNotSigpipe) {
  SocketPair sp;
  sp.b.reset();
  Bytes data(100, 'x');
  EXPECT_EQ(write_all(sp.a.get(), data, Clock::now() + std::chrono::seconds(30)), Io::closed);
}

}  // namespace
}  // namespace zsso::broker
