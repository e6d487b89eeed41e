// SPDX-License-Identifier: BSD-3-Clause
// The broker wire format and its frame I/O, pinned down byte by byte.
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include <algorithm>
#include <array>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "zsso/broker_protocol.hpp"
#include "zsso/text.hpp"
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
  EXPECT_EQ(std::string(frame->begin(), frame->begin() + 4), "ZSB2");
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
      {"unknown tag", cat({kMinimalBody, field(11, "x")})},
      {"step without a conversation", cat({kMinimalBody, field(9, std::string_view("\1", 1))})},
      {"continue with a user", cat({field(1, "bob"), field(3, ""), field(7, "b"), field(8, std::string(16, 'i')),
                                    field(9, std::string_view("\1", 1)), field(10, std::string_view("\0\1x", 3))})},
      {"continue without binding", cat({field(3, ""), field(8, std::string(16, 'i')), field(9, std::string_view("\1", 1)),
                                        field(10, std::string_view("\0\1x", 3))})},
      {"short conversation id", cat({field(3, ""), field(7, "b"), field(8, std::string(15, 'i')),
                                     field(9, std::string_view("\1", 1)), field(10, std::string_view("\0\1x", 3))})},
      {"step zero", cat({field(3, ""), field(7, "b"), field(8, std::string(16, 'i')), field(9, std::string_view("\0", 1)),
                         field(10, std::string_view("\0\1x", 3))})},
      {"answer runs past the end", cat({field(3, ""), field(7, "b"), field(8, std::string(16, 'i')),
                                        field(9, std::string_view("\1", 1)), field(10, std::string_view("\0\5x", 3))})},
      {"no answers", cat({field(3, ""), field(7, "b"), field(8, std::string(16, 'i')), field(9, std::string_view("\1", 1)),
                          field(10, "")})},
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
  std::array<unsigned char, kHeaderSize> h{'Z', 'S', 'B', '2', 0, 0, 0x1f, 0xf8};  // 8184: the most allowed
  EXPECT_TRUE(decode_header(h, kMaxRequestSize).ok());
  h[7] = 0xf9;
  EXPECT_EQ(decode_header(h, kMaxRequestSize).error.detail, Detail::too_large);
  h = {'Z', 'S', 'B', '2', 0xff, 0xff, 0xff, 0xff};
  EXPECT_EQ(decode_header(h, kMaxRequestSize).error.detail, Detail::too_large);
  h = {'Z', 'S', 'B', '1', 0, 0, 0, 1};   // the single-step protocol's frames are refused
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
  EXPECT_FALSE(decode_response_body(cat({field(1, "\x05"), detail})).ok()) << "unknown status";
  EXPECT_FALSE(decode_response_body(cat({field(1, "\x01"), field(2, "\x63")})).ok()) << "unknown detail";
  EXPECT_FALSE(decode_response_body(cat({field(1, "\x01"), detail, field(3, "a.b.c")})).ok())
      << "token without ok";
}

TEST(BrokerProtocol, PingIsFlagBitOneAndCarriesNoPassword) {
  Request r;
  r.user = "-";
  r.ping = true;
  auto frame = encode_request(r);
  ASSERT_TRUE(frame.ok()) << frame.error();
  auto d = decode_request_body(body_of(*frame));
  ASSERT_TRUE(d.ok()) << d.error.message;
  EXPECT_TRUE(d.value.ping);
  EXPECT_FALSE(d.value.remote_user);
  EXPECT_TRUE(decode_request_body(cat({field(1, "-"), field(2, ""), field(3, ""), field(6, "\x02")})).value.ping);
  r.password = secure("pw");
  EXPECT_FALSE(encode_request(r).ok()) << "a ping with a password";
  EXPECT_EQ(decode_request_body(cat({field(1, "-"), field(2, "pw"), field(3, ""), field(6, "\x02")})).error.detail,
            Detail::malformed);
  EXPECT_EQ(decode_request_body(cat({field(1, "-"), field(2, ""), field(3, ""), field(6, "\x03")})).error.detail,
            Detail::malformed)
      << "ping and REMOTE_USER at once";
  EXPECT_EQ(decode_request_body(cat({field(1, "-"), field(2, ""), field(3, ""), field(6, "\x04")})).error.detail,
            Detail::malformed)
      << "bit 2 is not defined";
  EXPECT_FALSE(decode_request_body(kMinimalBody).value.ping);
}

TEST(BrokerProtocol, PingAnswerIsOkWithoutAToken) {
  std::string ok = encode_response({Status::ok, Detail::none, {}});
  auto d = decode_response_body(std::span(reinterpret_cast<const unsigned char*>(ok.data()), ok.size()).subspan(kHeaderSize));
  ASSERT_TRUE(d.ok()) << d.error.message;
  EXPECT_EQ(d.value.status, Status::ok);
  EXPECT_TRUE(d.value.token.empty());
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
  ASSERT_EQ(::write(sp.b.get(), "ZSB2", 4), 4);
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
    ASSERT_EQ(::write(sp.b.get(), "ZSB2\0\0\0\x10" "abc", 11), 11);
    sp.b.reset();
    auto fr = read_frame(sp.a.get(), Clock::now() + std::chrono::seconds(30), kMaxRequestSize);
    EXPECT_EQ(fr.io, Io::ok);
    EXPECT_EQ(fr.error.detail, Detail::malformed);
    EXPECT_NE(fr.error.message.find("truncated"), std::string::npos);
  }
}

// A conversation that ends (its prompt timed out) just as a continue request
// arrives closes with that request unread: the client's recv gets ECONNRESET.
// That is the conversation gone (410, start again), not a broker fault (503).
TEST(BrokerFrameIo, PeerClosingWithOurRequestUnreadIsClosed) {
  SocketPair sp;
  ASSERT_EQ(::write(sp.a.get(), "ZSB2", 4), 4);
  sp.b.reset();
  auto fr = read_frame(sp.a.get(), Clock::now() + std::chrono::seconds(30), kMaxRequestSize);
  EXPECT_EQ(fr.io, Io::closed);
  EXPECT_EQ(fr.err, ECONNRESET);
}

TEST(BrokerFrameIo, OversizedAnnouncementIsRefusedWithoutReadingOn) {
  SocketPair sp;
  ASSERT_EQ(::write(sp.b.get(), "ZSB2\x7f\xff\xff\xff", 8), 8);
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

// ---- Multi-step sign-ins ----

TEST(BrokerProtocol, ContinueRequestRoundTrips) {
  Request req;
  req.continues = true;
  req.conversation.fill(0xab);
  req.binding = "0123456789abcdef0123456789abcdef";
  req.step = 3;
  req.client_address = "10.1.2.3";
  req.request_id = "rid-2";
  req.answers.push_back(SecureBytes{'1', '2', '3', '4', '5', '6'});
  req.answers.push_back(SecureBytes{});
  auto frame = encode_request(req);
  ASSERT_TRUE(frame.ok()) << frame.error();
  auto d = decode_request_body(std::span(*frame).subspan(kHeaderSize));
  ASSERT_TRUE(d.ok()) << d.error.message;
  EXPECT_TRUE(d.value.continues);
  EXPECT_EQ(d.value.conversation, req.conversation);
  EXPECT_EQ(d.value.binding, req.binding);
  EXPECT_EQ(d.value.step, 3);
  ASSERT_EQ(d.value.answers.size(), 2u);
  EXPECT_EQ(std::string(d.value.answers[0].begin(), d.value.answers[0].end()), "123456");
  EXPECT_TRUE(d.value.answers[1].empty());
  EXPECT_TRUE(d.value.user.empty());
}

TEST(BrokerProtocol, ContinueRequestsAreCheckedWhenBuilt) {
  Request req;
  req.continues = true;
  req.binding = "b";
  req.step = 1;
  EXPECT_FALSE(encode_request(req).ok()) << "no answers";
  req.answers.resize(kMaxAnswers + 1);
  EXPECT_FALSE(encode_request(req).ok()) << "too many answers";
  req.answers.resize(1);
  req.user = "bob";
  EXPECT_FALSE(encode_request(req).ok()) << "a user in a continue request";
  req.user.clear();
  req.binding.clear();
  EXPECT_FALSE(encode_request(req).ok()) << "no binding";
  req.binding = "b";
  req.answers[0] = SecureBytes{'a', 0, 'b'};
  EXPECT_FALSE(encode_request(req).ok()) << "NUL in an answer";
}

TEST(BrokerProtocol, PromptResponseRoundTrips) {
  Response resp(Status::prompt, Detail::none);
  resp.conversation.fill(7);
  resp.step = 2;
  resp.messages = {{Message::Kind::info, "Your password will expire in 3 days.\nChange it soon."},
                   {Message::Kind::echo_on, "One-time password (OATH) for `alice': "}};
  std::string frame = encode_response(resp);
  auto d = decode_response_body(std::span(reinterpret_cast<const unsigned char*>(frame.data()), frame.size()).subspan(kHeaderSize));
  ASSERT_TRUE(d.ok()) << d.error.message;
  EXPECT_EQ(d.value.status, Status::prompt);
  EXPECT_EQ(d.value.conversation, resp.conversation);
  EXPECT_EQ(d.value.step, 2);
  EXPECT_EQ(d.value.messages, resp.messages);
}

TEST(BrokerProtocol, ResponsesThatBreakTheRulesBecomeInternalErrors) {
  auto status_of = [](const Response& r) {
    std::string f = encode_response(r);
    auto d = decode_response_body(std::span(reinterpret_cast<const unsigned char*>(f.data()), f.size()).subspan(kHeaderSize));
    EXPECT_TRUE(d.ok()) << d.error.message;
    return std::pair(d.value.status, d.value.detail);
  };
  Response no_prompt(Status::prompt, Detail::none);
  no_prompt.step = 1;
  no_prompt.messages = {{Message::Kind::info, "only a message"}};
  EXPECT_EQ(status_of(no_prompt), std::pair(Status::error, Detail::internal));
  Response control(Status::prompt, Detail::none);
  control.step = 1;
  control.messages = {{Message::Kind::echo_off, "Pass\x1bword"}};
  EXPECT_EQ(status_of(control), std::pair(Status::error, Detail::internal));
  Response prompt_on_ok(Status::ok, Detail::none, "a.b.c");
  prompt_on_ok.messages = {{Message::Kind::echo_off, "Password"}};
  EXPECT_EQ(status_of(prompt_on_ok), std::pair(Status::error, Detail::internal));
}

TEST(BrokerProtocol, MessageTextIsCleanedForThePage) {
  EXPECT_EQ(clean_message_text("Code:\x1b[31m "), "Code: [31m ");
  EXPECT_EQ(clean_message_text("line one\nline two"), "line one\nline two");
  EXPECT_EQ(clean_message_text("bad \xff byte"), "bad \xEF\xBF\xBD byte");
  EXPECT_EQ(clean_message_text("c1 \xc2\x85 nel"), "c1   nel");
  std::string long_text(600, 'x');
  EXPECT_EQ(clean_message_text(long_text).size(), kMaxMessageText);
  std::string accents;
  for (int i = 0; i < 300; ++i) accents += "\xc3\xa9";
  std::string cut = clean_message_text(accents);
  EXPECT_LE(cut.size(), kMaxMessageText);
  EXPECT_EQ(cut.size() % 2, 0u) << "cut on a character boundary";
}

TEST(BrokerProtocol, ConversationIdRoundTripsThroughItsHexForm) {
  ConversationId id{};
  for (std::size_t i = 0; i < id.size(); ++i) id[i] = static_cast<unsigned char>(i * 17);
  std::string hex = hex_lower(id);
  EXPECT_EQ(hex.size(), 2 * kConversationIdSize);
  EXPECT_EQ(conversation_from_hex(hex), id);
  EXPECT_EQ(conversation_from_hex(hex.substr(1)), std::nullopt);
  std::string upper = hex;
  upper[2] = 'A';   // only the lower-case form the page and socket name use
  hex[2] = 'a';
  EXPECT_EQ(conversation_from_hex(upper), std::nullopt);
  EXPECT_TRUE(conversation_from_hex(hex).has_value());
  EXPECT_EQ(conversation_from_hex(std::string(32, 'g')), std::nullopt);
  EXPECT_EQ(conversation_dir("/run/zendesk-sso/authd.sock"), "/run/zendesk-sso/conv");
}

TEST(BrokerProtocol, ConversationSocketLivesBesideTheBrokerSocket) {
  ConversationId id{};
  id[0] = 0x01;
  id[15] = 0xff;
  EXPECT_EQ(conversation_socket_path("/run/zendesk-sso/authd.sock", id),
            "/run/zendesk-sso/conv/010000000000000000000000000000ff");
  EXPECT_EQ(conversation_socket_path("authd.sock", id), "");
  EXPECT_EQ(conversation_tag(id).size(), 8u);
  EXPECT_EQ(conversation_tag(id).find("0100"), std::string::npos) << "the tag is not the id's prefix";
  // SHA-256 of the 16 bytes (Python: hashlib.sha256(bytes([1] + [0]*14 + [255])).hexdigest()[:8]):
  // the tag in logs stays the same across the move from OpenSSL to zsso::sha256.
  EXPECT_EQ(conversation_tag(id), "268736f1");
}

// ---- Sign-in sessions (issue 13): flag value 4, request tag 11, response tag 8 ----

constexpr std::string_view kCookie = "1.c1d2af69.1799999000.1799999500..YWxpY2U.YH4PnspxXjiOhxvt9TV-OF6Pay6TNX7maIRjUoER7fA";

TEST(BrokerProtocol, SessionRequestRoundTripsWithoutUserOrPassword) {
  Request r;
  r.from_session = true;
  r.session = std::string(kCookie);
  r.client_address = "10.1.2.3";
  r.profile = "agents";
  r.request_id = "rid-7";
  auto frame = encode_request(r);
  ASSERT_TRUE(frame.ok()) << frame.error();
  auto d = decode_request_body(body_of(*frame));
  ASSERT_TRUE(d.ok()) << d.error.message;
  EXPECT_TRUE(d.value.from_session);
  EXPECT_FALSE(d.value.remote_user);
  EXPECT_EQ(d.value.session, kCookie);
  EXPECT_EQ(d.value.user, "");
  EXPECT_EQ(d.value.profile, "agents");
  // By hand: flags byte 4 and tag 11.
  auto hand = decode_request_body(cat({field(3, "10.1.2.3"), field(6, "\x04"), field(11, kCookie)}));
  ASSERT_TRUE(hand.ok()) << hand.error.message;
  EXPECT_TRUE(hand.value.from_session);
}

TEST(BrokerProtocol, SessionRequestsKeepTheirShape) {
  const Bytes flags4 = field(6, "\x04");
  for (const Bytes& body : {
           cat({field(3, "a"), flags4}),                                           // no cookie
           cat({field(3, "a"), flags4, field(11, kCookie), field(1, "alice")}),    // a user too
           cat({field(3, "a"), flags4, field(11, kCookie), field(2, "pw")}),       // a password too
           cat({field(3, "a"), flags4, field(11, "not a cookie!")}),               // not base64url
           cat({field(3, "a"), field(6, "\x05"), field(11, kCookie)}),             // REMOTE_USER and session
           cat({field(3, "a"), field(6, "\x06"), field(11, kCookie)}),             // ping and session
           cat({field(3, "a"), field(6, "\x07"), field(11, kCookie)}),             // every flag (fuzz_broker found it)
           cat({field(1, "bob"), field(2, "pw"), field(3, ""), field(6, std::string_view("\0", 1)),
                field(11, kCookie)}),                                              // cookie without the flag
           cat({field(3, "a"), flags4, field(11, std::string(1025, 'a'))}),        // over kMaxSession
       }) {
    EXPECT_FALSE(decode_request_body(body).ok());
  }
  Request r;
  r.from_session = true;
  r.session = std::string(kCookie);
  r.user = "alice";
  EXPECT_FALSE(encode_request(r).ok());
  r.user.clear();
  r.session = "a b";
  EXPECT_FALSE(encode_request(r).ok());
}

TEST(BrokerProtocol, SessionCookieRidesOnlyOnOk) {
  Response ok{Status::ok, Detail::none, "a.b.c"};
  ok.session = std::string(kCookie);
  std::string frame = encode_response(ok);
  auto d = decode_response_body(std::span<const unsigned char>(
      reinterpret_cast<const unsigned char*>(frame.data()) + kHeaderSize, frame.size() - kHeaderSize));
  ASSERT_TRUE(d.ok()) << d.error.message;
  EXPECT_EQ(d.value.session, kCookie);
  // A refusal with a cookie is the broker's own bug: an internal error instead.
  Response bad{Status::not_allowed, Detail::pam, {}};
  bad.session = std::string(kCookie);
  frame = encode_response(bad);
  d = decode_response_body(std::span<const unsigned char>(
      reinterpret_cast<const unsigned char*>(frame.data()) + kHeaderSize, frame.size() - kHeaderSize));
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d.value.status, Status::error);
  EXPECT_TRUE(d.value.session.empty());
  EXPECT_FALSE(decode_response_body(cat({field(1, std::string_view("\x02", 1)), field(2, std::string_view("\x08", 1)),
                                         field(8, kCookie)}))
                   .ok());
}

// ---- Issue 25.2: the last answer of a conversation names its user (response tag 9) ----

Decoded<Response> round_trip(const Response& r) {
  std::string frame = encode_response(r);
  return decode_response_body(std::span<const unsigned char>(
      reinterpret_cast<const unsigned char*>(frame.data()) + kHeaderSize, frame.size() - kHeaderSize));
}

TEST(BrokerProtocol, ConversationsLastAnswerCarriesTheUser) {
  Response expired{Status::not_allowed, Detail::password_expired, {}};
  expired.user = "alice";
  auto d = round_trip(expired);
  ASSERT_TRUE(d.ok()) << d.error.message;
  EXPECT_EQ(d.value.detail, Detail::password_expired);
  EXPECT_EQ(d.value.user, "alice");
  Response refused{Status::bad_login, Detail::pam, {}};
  refused.user = "b\xc3\xb6rje";
  d = round_trip(refused);
  ASSERT_TRUE(d.ok()) << d.error.message;
  EXPECT_EQ(d.value.user, "b\xc3\xb6rje");
  // A user the decoder would refuse (control character, too long, on a prompt) is the broker's bug.
  for (auto bad : {std::string("a\nb"), std::string(kMaxUser + 1, 'a')}) {
    Response r{Status::bad_login, Detail::pam, {}};
    r.user = bad;
    d = round_trip(r);
    ASSERT_TRUE(d.ok());
    EXPECT_EQ(d.value.status, Status::error);
    EXPECT_TRUE(d.value.user.empty());
  }
  Response prompt{Status::prompt, Detail::none, {}};
  prompt.step = 1;
  prompt.messages = {{Message::Kind::echo_off, "Code: "}};
  prompt.user = "alice";
  EXPECT_EQ(round_trip(prompt).value.status, Status::error);
  const std::string_view bad_login("\x01", 1), pam("\x08", 1);
  for (auto value : {std::string(""), std::string("a\x01"), std::string(kMaxUser + 1, 'a')})
    EXPECT_FALSE(decode_response_body(cat({field(1, bad_login), field(2, pam), field(9, value)})).ok()) << value;
  EXPECT_TRUE(decode_response_body(cat({field(1, bad_login), field(2, pam), field(9, "alice")})).ok());
}

// ---- Issue 23, slice 2: a key step (response tag 10) and its answer (request tag 12) ----

// u16 length and bytes, as the key fields nest their parts.
std::string chunk(std::string_view v) {
  return std::string{static_cast<char>(v.size() >> 8), static_cast<char>(v.size())} + std::string(v);
}

KeyChallenge sample_challenge() {
  KeyChallenge k;
  k.challenge = std::string(kKeyChallengeSize, '\x5a');
  k.rp_id = "example.com";
  k.user_verification = KeyChallenge::Verification::required;
  k.credential_ids = {std::string("\x01\x00\x02", 3), std::string(kMaxCredentialId, 'c')};
  return k;
}

KeyAssertion sample_assertion() {
  KeyAssertion a;
  a.credential_id = std::string("\x01\x00\x02", 3);
  a.client_data_json = R"({"type":"webauthn.get","challenge":"x","origin":"https://example.com"})";
  a.authenticator_data = std::string(37, '\0');
  a.signature = std::string(72, '\x30');
  return a;
}

Request key_continue() {
  Request req;
  req.continues = true;
  req.conversation.fill(0xcd);
  req.binding = "b";
  req.step = 2;
  req.client_address = "10.1.2.3";
  req.key = sample_assertion();
  return req;
}

TEST(BrokerProtocol, KeyStepRoundTrips) {
  Response resp(Status::prompt, Detail::none);
  resp.conversation.fill(9);
  resp.step = 2;
  resp.key = sample_challenge();
  resp.messages = {{Message::Kind::info, "Use your security key."}};
  auto d = round_trip(resp);
  ASSERT_TRUE(d.ok()) << d.error.message;
  EXPECT_EQ(d.value.status, Status::prompt);
  EXPECT_EQ(d.value.key, resp.key);
  EXPECT_EQ(d.value.messages, resp.messages);
  // No allowed credentials (discoverable keys only) is a key step too.
  resp.key.credential_ids.clear();
  resp.key.user_verification = KeyChallenge::Verification::discouraged;
  d = round_trip(resp);
  ASSERT_TRUE(d.ok()) << d.error.message;
  EXPECT_EQ(d.value.key, resp.key);
}

TEST(BrokerProtocol, KeyChallengeIsByteForByteAsDescribed) {
  Response resp(Status::prompt, Detail::none);
  resp.step = 1;
  resp.key.challenge = std::string(kKeyChallengeSize, 'C');
  resp.key.rp_id = "ex";
  resp.key.user_verification = KeyChallenge::Verification::preferred;
  resp.key.credential_ids = {"id"};
  std::string frame = encode_response(resp);
  const std::string value = std::string("\x01\x00\x20", 3) + std::string(32, 'C') + std::string("\x00\x02", 2) + "ex" +
                            std::string("\x00\x02", 2) + "id";
  EXPECT_NE(frame.find(std::string("\x0a\x00", 2) + static_cast<char>(value.size()) + value), std::string::npos);
}

TEST(BrokerProtocol, KeyChallengeRulesAreKept) {
  auto status_of = [](const Response& r) { return round_trip(r).value.status; };
  Response with_prompt(Status::prompt, Detail::none);
  with_prompt.step = 1;
  with_prompt.key = sample_challenge();
  with_prompt.messages = {{Message::Kind::echo_off, "Code: "}};
  EXPECT_EQ(status_of(with_prompt), Status::error) << "a key step asks no prompt";
  Response on_ok(Status::ok, Detail::none, "a.b.c");
  on_ok.key = sample_challenge();
  EXPECT_EQ(status_of(on_ok), Status::error) << "a key challenge only with prompt";
  Response short_challenge(Status::prompt, Detail::none);
  short_challenge.step = 1;
  short_challenge.key = sample_challenge();
  short_challenge.key.challenge.resize(16);
  EXPECT_EQ(status_of(short_challenge), Status::error);
  Response many(Status::prompt, Detail::none);
  many.step = 1;
  many.key = sample_challenge();
  many.key.credential_ids.assign(kMaxKeyCredentials + 1, "id");
  EXPECT_EQ(status_of(many), Status::error);

  const std::string_view prompt("\x05", 1), none("\x00", 1), conv(std::string_view("0123456789abcdef")), step("\x01", 1);
  const std::string good = std::string("\x02", 1) + chunk(std::string(32, 'c')) + chunk("example.com") + chunk("id");
  auto body = [&](const std::string& key) {
    return cat({field(1, prompt), field(2, none), field(4, conv), field(5, step), field(10, key)});
  };
  EXPECT_TRUE(decode_response_body(body(good)).ok());
  for (const std::string& bad : {std::string(), std::string("\x03", 1) + good.substr(1), good.substr(0, good.size() - 1),
                                 std::string("\x02", 1) + chunk(std::string(31, 'c')) + chunk("example.com"),
                                 std::string("\x02", 1) + chunk(std::string(32, 'c')) + chunk(""),
                                 good + chunk("")})
    EXPECT_FALSE(decode_response_body(body(bad)).ok()) << bad.size();
  // Not on a refusal.
  EXPECT_FALSE(decode_response_body(cat({field(1, std::string_view("\x01", 1)), field(2, std::string_view("\x08", 1)),
                                         field(10, good)})).ok());
}

TEST(BrokerProtocol, KeyAssertionRoundTripsInsteadOfAnswers) {
  auto frame = encode_request(key_continue());
  ASSERT_TRUE(frame.ok()) << frame.error();
  auto d = decode_request_body(body_of(*frame));
  ASSERT_TRUE(d.ok()) << d.error.message;
  EXPECT_TRUE(d.value.continues);
  EXPECT_TRUE(d.value.answers.empty());
  EXPECT_EQ(d.value.key, sample_assertion());
}

TEST(BrokerProtocol, KeyAssertionsAreCheckedWhenBuiltAndRead) {
  Request both = key_continue();
  both.answers.push_back(secure("123456"));
  EXPECT_FALSE(encode_request(both).ok()) << "answers and a key assertion";
  for (auto shrink : {&KeyAssertion::client_data_json, &KeyAssertion::signature}) {
    Request r = key_continue();
    (r.key.*shrink).clear();
    EXPECT_FALSE(encode_request(r).ok());
  }
  Request short_data = key_continue();
  short_data.key.authenticator_data.resize(36);
  EXPECT_FALSE(encode_request(short_data).ok()) << "authenticatorData is at least 37 bytes";
  Request long_sig = key_continue();
  long_sig.key.signature.assign(kMaxKeySignature + 1, 's');
  EXPECT_FALSE(encode_request(long_sig).ok());

  const std::string good = chunk("id") + chunk("{}") + chunk(std::string(37, 'a')) + chunk("sig");
  const std::string_view conv("0123456789abcdef"), step("\x01", 1), answers("\x00\x01x", 3);
  auto body = [&](std::initializer_list<Bytes> extra) {
    Bytes b = cat({field(3, ""), field(7, "b"), field(8, conv), field(9, step)});
    for (const auto& e : extra) b.insert(b.end(), e.begin(), e.end());
    return b;
  };
  EXPECT_TRUE(decode_request_body(body({field(12, good)})).ok());
  EXPECT_FALSE(decode_request_body(body({field(12, good), field(10, answers)})).ok()) << "both";
  EXPECT_FALSE(decode_request_body(body({})).ok()) << "neither";
  for (const std::string& bad : {good.substr(0, good.size() - 1), good + "x", chunk("id") + chunk("{}")})
    EXPECT_FALSE(decode_request_body(body({field(12, bad)})).ok()) << bad.size();
  // Never in a start request or a session request.
  EXPECT_FALSE(decode_request_body(cat({kMinimalBody, field(12, good)})).ok());
  EXPECT_FALSE(decode_request_body(cat({field(3, ""), field(6, std::string_view("\x04", 1)), field(11, "a.b"),
                                        field(12, good)})).ok());
}

// ---- Issue 23, slice 4: enrolment (flag bit 3, request tag 13, response tags 11 and 12) ----

KeyRegistration sample_registration() {
  KeyRegistration k;
  k.challenge = std::string(kKeyChallengeSize, '\x33');
  k.rp_id = "example.com";
  k.user_verification = KeyChallenge::Verification::required;
  k.invite_needed = true;
  k.user_handle = std::string(32, '\x07');
  k.user_name = "alice";
  k.exclude_ids = {std::string("\x01\x00\x02", 3)};
  return k;
}

Request registration_continue() {
  Request req = key_continue();
  req.key = {};
  req.registration.client_data_json = R"({"type":"webauthn.create"})";
  req.registration.attestation_object = std::string("\xa3\x63" "fmt", 5);
  req.registration.invite_code = "ABCD-EFGH-2345";
  return req;
}

TEST(BrokerProtocol, EnrolIsFlagBitThreeOnAPasswordSignIn) {
  Request req = sample();
  req.enrol = true;
  auto frame = encode_request(req);
  ASSERT_TRUE(frame.ok()) << frame.error();
  auto d = decode_request_body(body_of(*frame));
  ASSERT_TRUE(d.ok()) << d.error.message;
  EXPECT_TRUE(d.value.enrol);
  EXPECT_NE(std::search(frame->begin(), frame->end(), std::begin("\x06\x00\x01\x08"), std::end("\x06\x00\x01\x08") - 1),
            frame->end());
  // Not with REMOTE_USER, a ping or a session; not on a continue request.
  Request remote = req;
  remote.password.clear();
  remote.remote_user = true;
  EXPECT_FALSE(encode_request(remote).ok());
  Request cont = key_continue();
  cont.enrol = true;
  EXPECT_FALSE(encode_request(cont).ok());
  for (unsigned char bad : {0x09, 0x0a, 0x0c})
    EXPECT_FALSE(decode_request_body(cat({field(1, "bob"), field(2, ""), field(3, ""),
                                          field(6, std::string_view(reinterpret_cast<const char*>(&bad), 1))}))
                     .ok())
        << int{bad};
}

TEST(BrokerProtocol, KeyRegistrationAnswerRoundTripsInsteadOfAnswers) {
  auto frame = encode_request(registration_continue());
  ASSERT_TRUE(frame.ok()) << frame.error();
  auto d = decode_request_body(body_of(*frame));
  ASSERT_TRUE(d.ok()) << d.error.message;
  EXPECT_EQ(d.value.registration, registration_continue().registration);
  EXPECT_FALSE(d.value.key.present());
  // No invite code is an empty third part.
  Request no_code = registration_continue();
  no_code.registration.invite_code.clear();
  frame = encode_request(no_code);
  ASSERT_TRUE(frame.ok()) << frame.error();
  d = decode_request_body(body_of(*frame));
  ASSERT_TRUE(d.ok()) << d.error.message;
  EXPECT_EQ(d.value.registration.invite_code, "");
}

TEST(BrokerProtocol, KeyRegistrationAnswersAreCheckedWhenBuiltAndRead) {
  Request both = registration_continue();
  both.key = sample_assertion();
  EXPECT_FALSE(encode_request(both).ok()) << "a key assertion and a registration";
  Request with_answers = registration_continue();
  with_answers.answers.push_back(secure("123456"));
  EXPECT_FALSE(encode_request(with_answers).ok());
  Request big = registration_continue();
  big.registration.attestation_object.assign(kMaxAttestationObject + 1, 'a');
  EXPECT_FALSE(encode_request(big).ok());
  for (const char* code : {"tab\tcode", "new\nline", "\xc3\xa9t\xc3\xa9"}) {
    Request r = registration_continue();
    r.registration.invite_code = code;
    EXPECT_FALSE(encode_request(r).ok()) << code;
  }
  Request long_code = registration_continue();
  long_code.registration.invite_code.assign(kMaxInviteCode + 1, 'A');
  EXPECT_FALSE(encode_request(long_code).ok());

  const std::string good = chunk("{}") + chunk("\xa0") + chunk("CODE");
  const std::string_view conv("0123456789abcdef"), step("\x01", 1), answers("\x00\x01x", 3);
  auto body = [&](std::initializer_list<Bytes> extra) {
    Bytes b = cat({field(3, ""), field(7, "b"), field(8, conv), field(9, step)});
    for (const auto& e : extra) b.insert(b.end(), e.begin(), e.end());
    return b;
  };
  EXPECT_TRUE(decode_request_body(body({field(13, good)})).ok());
  EXPECT_TRUE(decode_request_body(body({field(13, chunk("{}") + chunk("\xa0") + chunk(""))})).ok());
  EXPECT_FALSE(decode_request_body(body({field(13, good), field(10, answers)})).ok());
  for (const std::string& bad : {good.substr(0, good.size() - 1), good + "x", chunk("{}") + chunk("\xa0"),
                                 chunk("") + chunk("\xa0") + chunk(""), chunk("{}") + chunk("") + chunk(""),
                                 chunk("{}") + chunk("\xa0") + chunk("a\tb")})
    EXPECT_FALSE(decode_request_body(body({field(13, bad)})).ok()) << bad.size();
  EXPECT_FALSE(decode_request_body(cat({kMinimalBody, field(13, good)})).ok()) << "not in a start request";
}

TEST(BrokerProtocol, KeyRemovalAnswersARegistrationStepInstead) {
  Request req = registration_continue();
  req.registration = {};
  req.key_removal = "AbCdEf012345";
  auto frame = encode_request(req);
  ASSERT_TRUE(frame.ok()) << frame.error();
  auto d = decode_request_body(body_of(*frame));
  ASSERT_TRUE(d.ok()) << d.error.message;
  EXPECT_EQ(d.value.key_removal, "AbCdEf012345");
  EXPECT_FALSE(d.value.registration.present());
  Request both = registration_continue();
  both.key_removal = "AbCdEf012345";
  EXPECT_FALSE(encode_request(both).ok()) << "a registration and a removal";
  Request bad = req;
  bad.key_removal = "a\nb";
  EXPECT_FALSE(encode_request(bad).ok());
  const std::string_view conv("0123456789abcdef"), step("\x01", 1);
  auto body = [&](std::initializer_list<Bytes> extra) {
    Bytes b = cat({field(3, ""), field(7, "b"), field(8, conv), field(9, step)});
    for (const auto& e : extra) b.insert(b.end(), e.begin(), e.end());
    return b;
  };
  EXPECT_TRUE(decode_request_body(body({field(14, "AbC")})).ok());
  EXPECT_FALSE(decode_request_body(body({field(14, "")})).ok());
  EXPECT_FALSE(decode_request_body(body({field(14, std::string(kMaxKeyIdText + 1, 'a'))})).ok());
  EXPECT_FALSE(decode_request_body(body({field(14, "AbC"), field(13, chunk("{}") + chunk("\xa0") + chunk(""))})).ok());
  EXPECT_FALSE(decode_request_body(cat({kMinimalBody, field(14, "AbC")})).ok()) << "not in a start request";
}

TEST(BrokerProtocol, KeyRegistrationStepRoundTripsWithTheKeys) {
  Response resp(Status::prompt, Detail::none);
  resp.conversation.fill(4);
  resp.step = 3;
  resp.registration = sample_registration();
  resp.keys = {{"AbCdEf012345", "es256"}, {"*XyZ987654321", "eddsa"}};
  resp.keys_listed = true;
  auto d = round_trip(resp);
  ASSERT_TRUE(d.ok()) << d.error.message;
  EXPECT_EQ(d.value.registration, resp.registration);
  EXPECT_EQ(d.value.keys, resp.keys);
  EXPECT_TRUE(d.value.keys_listed);
  EXPECT_FALSE(d.value.key.present());
  // A first key: no keys, nothing to exclude.
  resp.keys.clear();
  resp.registration.exclude_ids.clear();
  resp.registration.invite_needed = false;
  d = round_trip(resp);
  ASSERT_TRUE(d.ok()) << d.error.message;
  EXPECT_TRUE(d.value.keys_listed);
  EXPECT_TRUE(d.value.keys.empty());
  EXPECT_EQ(d.value.registration, resp.registration);
}

TEST(BrokerProtocol, KeyRegistrationIsByteForByteAsDescribed) {
  Response resp(Status::prompt, Detail::none);
  resp.step = 1;
  resp.registration.challenge = std::string(kKeyChallengeSize, 'C');
  resp.registration.rp_id = "ex";
  resp.registration.user_verification = KeyChallenge::Verification::discouraged;
  resp.registration.invite_needed = true;
  resp.registration.user_handle = "h";
  resp.registration.user_name = "al";
  resp.registration.exclude_ids = {"id"};
  resp.keys = {{"k1", "es256"}};
  resp.keys_listed = true;
  std::string frame = encode_response(resp);
  const std::string reg = std::string("\x00\x01\x00\x20", 4) + std::string(32, 'C') + chunk("ex") + chunk("h") +
                          chunk("al") + chunk("id");
  EXPECT_NE(frame.find(std::string("\x0b\x00", 2) + static_cast<char>(reg.size()) + reg), std::string::npos);
  const std::string keys = chunk("k1") + chunk("es256");
  EXPECT_NE(frame.find(std::string("\x0c\x00", 2) + static_cast<char>(keys.size()) + keys), std::string::npos);
}

TEST(BrokerProtocol, AnEnrolmentsOkCarriesTheKeysAndNoToken) {
  Response done(Status::ok, Detail::none);
  done.keys = {{"AbCdEf012345", "es256"}};
  done.keys_listed = true;
  auto d = round_trip(done);
  ASSERT_TRUE(d.ok()) << d.error.message;
  EXPECT_EQ(d.value.status, Status::ok);
  EXPECT_TRUE(d.value.token.empty());
  EXPECT_EQ(d.value.keys, done.keys);
}

TEST(BrokerProtocol, KeyRegistrationRulesAreKept) {
  auto status_of = [](const Response& r) { return round_trip(r).value.status; };
  Response both(Status::prompt, Detail::none);
  both.step = 1;
  both.registration = sample_registration();
  both.key = sample_challenge();
  EXPECT_EQ(status_of(both), Status::error) << "one kind of key step";
  Response on_ok(Status::ok, Detail::none);
  on_ok.registration = sample_registration();
  EXPECT_EQ(status_of(on_ok), Status::error);
  Response keys_with_token(Status::ok, Detail::none, "a.b.c");
  keys_with_token.keys_listed = true;
  EXPECT_EQ(status_of(keys_with_token), Status::error) << "a sign-in's ok lists no keys";
  Response keys_on_refusal(Status::bad_login, Detail::pam);
  keys_on_refusal.keys_listed = true;
  EXPECT_EQ(status_of(keys_on_refusal), Status::error);
  for (auto spoil : std::initializer_list<void (*)(KeyRegistration&)>{
           [](KeyRegistration& k) { k.challenge.resize(31); }, [](KeyRegistration& k) { k.user_handle.clear(); },
           [](KeyRegistration& k) { k.user_handle.assign(kMaxUserHandle + 1, 'h'); },
           [](KeyRegistration& k) { k.user_name.clear(); }, [](KeyRegistration& k) { k.user_name = "a\nb"; },
           [](KeyRegistration& k) { k.rp_id.clear(); },
           [](KeyRegistration& k) { k.exclude_ids.assign(kMaxKeyCredentials + 1, "id"); }}) {
    Response r(Status::prompt, Detail::none);
    r.step = 1;
    r.registration = sample_registration();
    spoil(r.registration);
    EXPECT_EQ(status_of(r), Status::error);
  }
  Response many_keys(Status::ok, Detail::none);
  many_keys.keys.assign(kMaxKeyCredentials + 1, {"id", "es256"});
  many_keys.keys_listed = true;
  EXPECT_EQ(status_of(many_keys), Status::error);

  const std::string_view prompt("\x05", 1), none("\x00", 1), conv(std::string_view("0123456789abcdef")), step("\x01", 1);
  const std::string good = std::string("\x01\x01", 2) + chunk(std::string(32, 'c')) + chunk("example.com") + chunk("h") +
                           chunk("alice");
  auto body = [&](const std::string& reg) {
    return cat({field(1, prompt), field(2, none), field(4, conv), field(5, step), field(11, reg)});
  };
  EXPECT_TRUE(decode_response_body(body(good)).ok());
  EXPECT_TRUE(decode_response_body(body(good + chunk("id"))).ok());
  for (const std::string& bad : {std::string(), std::string("\x01", 1), std::string("\x03\x01", 2) + good.substr(2),
                                 std::string("\x01\x02", 2) + good.substr(2), good.substr(0, good.size() - 1),
                                 good + chunk("")})
    EXPECT_FALSE(decode_response_body(body(bad)).ok()) << bad.size();
  // Keys: pairs, on a registration step or a tokenless ok only.
  EXPECT_TRUE(decode_response_body(cat({field(1, std::string_view("\x00", 1)), field(2, none),
                                        field(12, chunk("id") + chunk("es256"))})).ok());
  EXPECT_FALSE(decode_response_body(cat({field(1, std::string_view("\x00", 1)), field(2, none),
                                         field(12, chunk("id"))})).ok());
  EXPECT_FALSE(decode_response_body(cat({field(1, std::string_view("\x00", 1)), field(2, none), field(3, "a.b.c"),
                                         field(12, chunk("id") + chunk("es256"))})).ok());
  EXPECT_FALSE(decode_response_body(cat({field(1, std::string_view("\x01", 1)), field(2, std::string_view("\x08", 1)),
                                         field(12, "")})).ok());
}


// ---- Issue 23, slice 5: passkeys without a password (flag bit 4, a user handle in tag 12) ----

Request passkey_start() {
  Request req;
  req.passkey = true;
  req.client_address = "10.1.2.3";
  req.binding = "b";
  return req;
}

TEST(BrokerProtocol, PasskeyIsFlagBitFourWithTheBindingAndNoUser) {
  auto frame = encode_request(passkey_start());
  ASSERT_TRUE(frame.ok()) << frame.error();
  const Bytes expected = cat({field(3, "10.1.2.3"), field(6, std::string_view("\x10", 1)), field(7, "b")});
  EXPECT_EQ(Bytes(frame->begin() + kHeaderSize, frame->end()), expected) << "the bytes as docs/webauthn.md says";
  auto d = decode_request_body(expected);
  ASSERT_TRUE(d.ok()) << d.error.message;
  EXPECT_TRUE(d.value.passkey);
  EXPECT_TRUE(d.value.user.empty());
  EXPECT_EQ(d.value.binding, "b");
  // Built: never with a user, a password, another flag, or without the binding.
  Request with_user = passkey_start();
  with_user.user = "alice";
  Request with_password = passkey_start();
  with_password.password = secure("pw");
  Request remote = passkey_start();
  remote.remote_user = true;
  Request no_binding = passkey_start();
  no_binding.binding.clear();
  for (const Request* bad : {&with_user, &with_password, &remote, &no_binding}) EXPECT_FALSE(encode_request(*bad).ok());
  // Read: the flag stands alone; no user, password or answer; binding and address required.
  for (unsigned char bad : {0x11, 0x12, 0x14, 0x18, 0x30})
    EXPECT_FALSE(decode_request_body(cat({field(3, ""), field(6, std::string_view(reinterpret_cast<const char*>(&bad), 1)),
                                          field(7, "b")}))
                     .ok())
        << int{bad};
  const Bytes flag = field(6, std::string_view("\x10", 1));
  EXPECT_FALSE(decode_request_body(cat({field(3, ""), flag})).ok()) << "no binding";
  EXPECT_FALSE(decode_request_body(cat({flag, field(7, "b")})).ok()) << "no address";
  EXPECT_FALSE(decode_request_body(cat({field(1, "alice"), field(3, ""), flag, field(7, "b")})).ok()) << "a user";
  EXPECT_FALSE(decode_request_body(cat({field(2, ""), field(3, ""), flag, field(7, "b")})).ok()) << "a password";
  EXPECT_FALSE(decode_request_body(cat({field(3, ""), flag, field(7, "b"), field(12, chunk("id") + chunk("{}") +
                                                                                  chunk(std::string(37, 'a')) +
                                                                                  chunk("sig"))}))
                   .ok())
      << "an answer without a conversation";
}

TEST(BrokerProtocol, KeyAssertionCarriesAUserHandleAsAFifthPart) {
  Request req = key_continue();
  req.key.user_handle = std::string(32, '\x07');
  auto frame = encode_request(req);
  ASSERT_TRUE(frame.ok()) << frame.error();
  auto d = decode_request_body(body_of(*frame));
  ASSERT_TRUE(d.ok()) << d.error.message;
  EXPECT_EQ(d.value.key, req.key);
  const std::string four = chunk("id") + chunk("{}") + chunk(std::string(37, 'a')) + chunk("sig");
  const std::string_view conv("0123456789abcdef"), step("\x01", 1);
  auto body = [&](const std::string& key) {
    return cat({field(3, ""), field(7, "b"), field(8, conv), field(9, step), field(12, key)});
  };
  d = decode_request_body(body(four + chunk("handle")));
  ASSERT_TRUE(d.ok()) << d.error.message;
  EXPECT_EQ(d.value.key.user_handle, "handle");
  // Without one, the bytes are what they were (no fifth part at all).
  d = decode_request_body(body(four));
  ASSERT_TRUE(d.ok()) << d.error.message;
  EXPECT_EQ(d.value.key.user_handle, "");
  const KeyAssertion plain = sample_assertion();
  const Bytes four_parts = field(12, chunk(plain.credential_id) + chunk(plain.client_data_json) +
                                         chunk(plain.authenticator_data) + chunk(plain.signature));
  auto old_frame = encode_request(key_continue());
  ASSERT_TRUE(old_frame.ok());
  EXPECT_NE(std::search(old_frame->begin(), old_frame->end(), four_parts.begin(), four_parts.end()), old_frame->end());
  // An empty, too long or trailing-bytes handle is refused.
  for (const std::string& bad : {four + chunk(""), four + chunk(std::string(kMaxUserHandle + 1, 'h')),
                                 four + chunk("h") + "x", four + chunk("h") + chunk("h")})
    EXPECT_FALSE(decode_request_body(body(bad)).ok()) << bad.size();
  Request long_handle = key_continue();
  long_handle.key.user_handle.assign(kMaxUserHandle + 1, 'h');
  EXPECT_FALSE(encode_request(long_handle).ok());
}

TEST(BrokerProtocol, PasswordlessOffIsDetailSixteen) {
  Response r(Status::not_allowed, Detail::passwordless_off);
  auto d = round_trip(r);
  ASSERT_TRUE(d.ok()) << d.error.message;
  EXPECT_EQ(d.value.detail, Detail::passwordless_off);
  EXPECT_EQ(static_cast<int>(Detail::passwordless_off), 16);
  EXPECT_NE(encode_response(r).find(std::string("\x02\x00\x01\x10", 4)), std::string::npos);
}

}  // namespace
}  // namespace zsso::broker
