// SPDX-License-Identifier: BSD-3-Clause
#include "zsso/jwt.hpp"

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <cstdint>
#include <limits>
#include <random>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "zsso/base64url.hpp"

namespace zsso {
namespace {

using J = nlohmann::ordered_json;

constexpr std::int64_t kNow = 1718000000;   // a fixed clock: tests never read the real one

// HMAC-SHA256 by OpenSSL's one-shot API, independent of Hs256Key.
std::string reference_hmac(std::string_view key, std::string_view data) {
  unsigned char out[32];
  std::size_t len = 0;
  EXPECT_NE(EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, key.data(), key.size(),
                      reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, sizeof out, &len),
            nullptr);
  EXPECT_EQ(len, 32u);
  return std::string(reinterpret_cast<const char*>(out), 32);
}

// A token with any header and payload text, correctly signed with key: only
// the checks after the signature can reject it.
std::string forge(std::string_view header, std::string_view payload, std::string_view key) {
  std::string input = base64url_encode(header) + "." + base64url_encode(payload);
  return input + "." + base64url_encode(reference_hmac(key, input));
}

class JwtTest : public ::testing::Test {
 protected:
  static constexpr std::string_view kSecret = "k3Jd9QwErTy7UiOp2AsDfGhJ4KlZxCv6BnM8QaWsEdRfTgYh";
  Secret secret_{kSecret};
  Hs256Key key_{secret_};

  VerifyOptions at_now() const {
    VerifyOptions o;
    o.now = kNow;
    return o;
  }
  J sample_claims() const {
    J c = J::object();
    c["iat"] = kNow;
    c["jti"] = "AAAAAAAAAAAAAAAAAAAAAA";
    c["email"] = "zoe@acme.com";
    c["name"] = "Zoë Ñandú 李";
    c["tags"] = J::array({"staff", "it"});
    c["locale_id"] = 1176;
    return c;
  }
  std::string sign(const J& claims) {
    auto t = sign_jwt(claims, key_);
    EXPECT_TRUE(t.ok()) << (t.ok() ? "" : t.error());
    return t.ok() ? *t : std::string{};
  }
  std::string verify_error(std::string_view token, VerifyOptions opt) {
    auto r = verify_jwt(token, key_, opt);
    EXPECT_FALSE(r.ok()) << "accepted: " << token;
    return r.ok() ? "" : r.error();
  }
  std::string verify_error(std::string_view token) { return verify_error(token, at_now()); }
  std::string claims_with_iat(const std::string& iat_json) {
    return R"({"iat":)" + iat_json + R"(,"jti":"x","email":"a@b.c","name":"n"})";
  }
};

// --- signing -----------------------------------------------------------------

TEST_F(JwtTest, KeyIsValid) { EXPECT_TRUE(key_.valid()); }

TEST_F(JwtTest, HeaderIsExactlyTypJwtAlgHs256) {
  std::string token = sign(sample_claims());
  auto header = base64url_decode(token.substr(0, token.find('.')));
  ASSERT_TRUE(header.has_value());
  EXPECT_EQ(*header, R"({"typ":"JWT","alg":"HS256"})");
}

TEST_F(JwtTest, PayloadIsTheClaimsAsCompactUtf8JsonInOrder) {
  J claims = sample_claims();
  std::string token = sign(claims);
  auto d1 = token.find('.'), d2 = token.rfind('.');
  auto payload = base64url_decode(token.substr(d1 + 1, d2 - d1 - 1));
  ASSERT_TRUE(payload.has_value());
  EXPECT_EQ(*payload, claims.dump());
  EXPECT_NE(payload->find("Zoë Ñandú 李"), std::string::npos) << "UTF-8 must go in raw, not \\u-escaped";
  EXPECT_NE(payload->find(R"("tags":["staff","it"])"), std::string::npos);
  EXPECT_NE(payload->find(R"("iat":1718000000)"), std::string::npos);
}

TEST_F(JwtTest, SignatureIsHmacSha256OfHeaderDotPayload) {
  std::string token = sign(sample_claims());
  auto d2 = token.rfind('.');
  EXPECT_EQ(token.substr(d2 + 1), base64url_encode(reference_hmac(kSecret, token.substr(0, d2))));
  EXPECT_EQ(token.size() - d2 - 1, 43u);
}

TEST_F(JwtTest, MacMatchesReferenceForManyInputsAndKeyLengths) {
  std::mt19937 rng(7);
  for (std::size_t key_len : {1u, 16u, 48u, 64u, 65u, 200u}) {
    std::string k(key_len, '\0');
    for (auto& c : k) c = static_cast<char>(rng());
    Secret s(k);
    Hs256Key key(s);
    ASSERT_TRUE(key.valid()) << key_len;
    for (std::size_t n = 0; n < 200; n += 13) {
      std::string data(n, '\0');
      for (auto& c : data) c = static_cast<char>(rng());
      unsigned char out[32];
      ASSERT_TRUE(key.mac(data, out));   // the same key object, re-used
      EXPECT_EQ(std::string(reinterpret_cast<char*>(out), 32), reference_hmac(k, data)) << key_len << "/" << n;
    }
  }
}

TEST_F(JwtTest, SignRejectsNonObjectClaims) {
  EXPECT_FALSE(sign_jwt(J::array({1, 2}), key_).ok());
  EXPECT_FALSE(sign_jwt(J("text"), key_).ok());
}

TEST_F(JwtTest, SignRejectsInvalidUtf8InsteadOfThrowing) {
  J c = sample_claims();
  c["name"] = std::string("\xff\xfe bad");
  auto r = sign_jwt(c, key_);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("UTF-8"), std::string::npos) << r.error();
}

TEST_F(JwtTest, SignVerifyRoundTrip) {
  J claims = sample_claims();
  auto r = verify_jwt(sign(claims), key_, at_now());
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(*r, claims);
}

// --- known answers -----------------------------------------------------------

TEST(JwtKnownAnswer, VerifiesRfc7515AppendixA1) {
  // RFC 7515 A.1: an HS256 JWS with an octet key given as base64url.
  auto k = base64url_decode("AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow");
  ASSERT_TRUE(k.has_value());
  Secret secret(*k);
  Hs256Key key(secret);
  const std::string token =
      "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9"
      ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
      ".dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
  VerifyOptions opt;
  opt.check_iat = false;
  auto r = verify_jwt(token, key, opt);
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ((*r)["iss"], "joe");
  EXPECT_EQ((*r)["exp"], 1300819380);
  // The same token with iat checking on: no iat claim.
  VerifyOptions strict;
  strict.now = 1300819380;
  EXPECT_FALSE(verify_jwt(token, key, strict).ok());
}

TEST(JwtKnownAnswer, VerifiesJwtIoExample) {
  Secret secret("your-256-bit-secret");
  Hs256Key key(secret);
  VerifyOptions opt;
  opt.check_iat = false;
  auto r = verify_jwt(
      "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ."
      "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
      key, opt);
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ((*r)["name"], "John Doe");
}

// --- jti ---------------------------------------------------------------------

TEST(Jti, Is22Base64UrlCharactersOf16Bytes) {
  auto j = new_jti();
  ASSERT_TRUE(j.ok());
  EXPECT_EQ(j->size(), 22u);
  EXPECT_EQ(j->find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"), std::string::npos);
  auto raw = base64url_decode(*j);
  ASSERT_TRUE(raw.has_value());
  EXPECT_EQ(raw->size(), 16u);
}

TEST(Jti, UniqueAcrossTenThousandDraws) {
  std::set<std::string> seen;
  for (int i = 0; i < 10000; ++i) {
    auto j = new_jti();
    ASSERT_TRUE(j.ok());
    ASSERT_EQ(j->size(), 22u);
    EXPECT_TRUE(seen.insert(*j).second) << "repeated jti " << *j;
  }
  EXPECT_EQ(seen.size(), 10000u);
}

// --- verify: tampering -----------------------------------------------------------

TEST_F(JwtTest, RejectsOneChangedByteAtEveryPosition) {
  const std::string token = sign(sample_claims());
  ASSERT_TRUE(verify_jwt(token, key_, at_now()).ok());
  std::size_t checked = 0;
  for (std::size_t i = 0; i < token.size(); ++i) {
    for (char replacement : {'A', 'B', '_', '-', '.', 'z', '0'}) {
      if (token[i] == replacement) continue;
      std::string bad = token;
      bad[i] = replacement;
      EXPECT_FALSE(verify_jwt(bad, key_, at_now()).ok()) << "position " << i << " -> " << replacement;
      ++checked;
    }
  }
  EXPECT_GT(checked, token.size() * 5);
}

TEST_F(JwtTest, RejectsOneFlippedBitInEveryDecodedByte) {
  // Re-encoded after the flip, so the base64url itself stays valid.
  const std::string token = sign(sample_claims());
  auto d1 = token.find('.'), d2 = token.rfind('.');
  std::string parts[3] = {token.substr(0, d1), token.substr(d1 + 1, d2 - d1 - 1), token.substr(d2 + 1)};
  for (int p = 0; p < 3; ++p) {
    std::string raw = *base64url_decode(parts[p]);
    for (std::size_t i = 0; i < raw.size(); ++i) {
      for (int bit = 0; bit < 8; bit += 3) {
        std::string flipped = raw;
        flipped[i] = static_cast<char>(flipped[i] ^ (1 << bit));
        std::string pp[3] = {parts[0], parts[1], parts[2]};
        pp[p] = base64url_encode(flipped);
        std::string bad = pp[0] + "." + pp[1] + "." + pp[2];
        EXPECT_FALSE(verify_jwt(bad, key_, at_now()).ok()) << "part " << p << " byte " << i << " bit " << bit;
      }
    }
  }
}

TEST_F(JwtTest, RejectsWrongSecret) {
  std::string token = sign(sample_claims());
  for (std::string_view other : {"k3Jd9QwErTy7UiOp2AsDfGhJ4KlZxCv6BnM8QaWsEdRfTgYH", "k3Jd9QwErTy7UiOp2AsDfGhJ4KlZxCv6BnM8QaWsEdRfTgY",
                                 "k3Jd9QwErTy7UiOp2AsDfGhJ4KlZxCv6BnM8QaWsEdRfTgYh\n", "x"}) {
    Secret s(other);
    Hs256Key k(s);
    auto r = verify_jwt(token, k, at_now());
    ASSERT_FALSE(r.ok()) << other;
    EXPECT_EQ(r.error(), "signature does not match");
  }
}

TEST_F(JwtTest, RejectsEveryTruncation) {
  const std::string token = sign(sample_claims());
  for (std::size_t n = 0; n < token.size(); ++n)
    EXPECT_FALSE(verify_jwt(token.substr(0, n), key_, at_now()).ok()) << "length " << n;
}

TEST_F(JwtTest, RejectsExtraSegments) {
  const std::string token = sign(sample_claims());
  for (std::string bad : {token + ".", token + ".AAAA", "." + token, token + "..", "AAAA." + token})
    EXPECT_NE(verify_error(bad).find("not a JWT"), std::string::npos) << bad;
}

TEST_F(JwtTest, RejectsStructuralGarbage) {
  for (const char* bad : {"", ".", "..", "...", "a", "a.b", "a.b.c", "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9..",
                          "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.e30."})
    verify_error(bad);
}

TEST_F(JwtTest, RejectsOverlongToken) {
  J c = sample_claims();
  c["padding"] = std::string(20000, 'x');
  std::string token = forge(R"({"typ":"JWT","alg":"HS256"})", c.dump(), kSecret);
  ASSERT_GT(token.size(), kMaxTokenSize);
  EXPECT_EQ(verify_error(token), "token too long");
}

// Found by fuzz_template (tests/fuzz/regressions/fuzz_template/token-over-size-limit):
// sign_jwt made a token longer than verify_jwt reads, so a token we signed
// did not verify. Both ends now share kMaxTokenSize: the largest claims that
// sign give a token at the limit that verifies; one byte more is refused.
TEST_F(JwtTest, SignAndVerifyShareTheSizeLimit) {
  J c = sample_claims();
  std::size_t n = kMaxTokenSize / 2;   // signs: base64 makes 4 characters of 3 bytes
  for (;; ++n) {
    c["padding"] = std::string(n + 1, 'x');
    if (!sign_jwt(c, key_).ok()) break;
    ASSERT_LT(n, kMaxTokenSize) << "sign_jwt never refused";
  }
  auto refused = sign_jwt(c, key_);
  EXPECT_EQ(refused.error().rfind("claims too large", 0), 0u) << refused.error();

  c["padding"] = std::string(n, 'x');
  std::string token = sign(c);
  EXPECT_LE(token.size(), kMaxTokenSize);
  EXPECT_GT(token.size(), kMaxTokenSize - 4);   // base64 steps are 4 characters
  auto back = verify_jwt(token, key_, at_now());
  ASSERT_TRUE(back.ok()) << back.error();
  EXPECT_EQ(*back, c);
}

TEST_F(JwtTest, RejectsBadBase64InAnyPart) {
  std::string token = sign(sample_claims());
  auto d1 = token.find('.'), d2 = token.rfind('.');
  std::string h = token.substr(0, d1), p = token.substr(d1 + 1, d2 - d1 - 1), s = token.substr(d2 + 1);
  verify_error(h + "=." + p + "." + s);
  verify_error(h + "." + p + "=." + s);
  verify_error(h + "." + p + "." + s + "=");
  std::string plus = "+";   // not "+" + a temporary: gcc 12 -O3's -Wrestrict false positive
  verify_error(plus.append(h, 1).append(".").append(p).append(".").append(s));
  verify_error(h + "." + p + "." + s.substr(0, 42) + "/");
  verify_error(h + "." + p + " ." + s);
}

TEST_F(JwtTest, RejectsSignatureOfWrongLength) {
  std::string token = sign(sample_claims());
  auto d2 = token.rfind('.');
  std::string sig = *base64url_decode(token.substr(d2 + 1));
  EXPECT_EQ(verify_error(token.substr(0, d2 + 1) + base64url_encode(sig.substr(0, 31))), "signature does not match");
  EXPECT_EQ(verify_error(token.substr(0, d2 + 1) + base64url_encode(sig + "x")), "signature does not match");
  EXPECT_EQ(verify_error(token.substr(0, d2 + 1)), "signature does not match");
}

// --- verify: header ------------------------------------------------------------------

TEST_F(JwtTest, RejectsAlgNone) {
  std::string payload = claims_with_iat(std::to_string(kNow));
  // Unsigned, as an attacker would send it...
  std::string unsigned_token = base64url_encode(R"({"typ":"JWT","alg":"none"})") + "." + base64url_encode(payload) + ".";
  EXPECT_NE(verify_error(unsigned_token).find("only HS256"), std::string::npos);
  // ...and even with a valid MAC: alg is checked in its own right.
  EXPECT_NE(verify_error(forge(R"({"typ":"JWT","alg":"none"})", payload, kSecret)).find("only HS256"), std::string::npos);
  EXPECT_NE(verify_error(forge(R"({"typ":"JWT","alg":"None"})", payload, kSecret)).find("only HS256"), std::string::npos);
}

TEST_F(JwtTest, RejectsOtherAlgorithms) {
  std::string payload = claims_with_iat(std::to_string(kNow));
  for (const char* alg : {"HS512", "HS384", "RS256", "ES256", "hs256", "HS256 ", ""}) {
    std::string header = std::string(R"({"typ":"JWT","alg":")") + alg + "\"}";
    EXPECT_NE(verify_error(forge(header, payload, kSecret)).find("only HS256"), std::string::npos) << alg;
  }
}

TEST_F(JwtTest, RejectsMissingOrNonStringAlg) {
  std::string payload = claims_with_iat(std::to_string(kNow));
  for (const char* header : {R"({"typ":"JWT"})", R"({"typ":"JWT","alg":null})", R"({"typ":"JWT","alg":["HS256"]})",
                             R"({"typ":"JWT","alg":256})", R"({})"})
    EXPECT_NE(verify_error(forge(header, payload, kSecret)).find("only HS256"), std::string::npos) << header;
}

TEST_F(JwtTest, RejectsTypOtherThanJwt) {
  std::string payload = claims_with_iat(std::to_string(kNow));
  for (const char* header : {R"({"typ":"JWS","alg":"HS256"})", R"({"typ":"jwt","alg":"HS256"})",
                             R"({"typ":"","alg":"HS256"})", R"({"typ":1,"alg":"HS256"})", R"({"typ":null,"alg":"HS256"})"})
    EXPECT_EQ(verify_error(forge(header, payload, kSecret)), "unsupported token type") << header;
}

TEST_F(JwtTest, AcceptsHeaderWithoutTypAndInOtherKeyOrder) {
  std::string payload = claims_with_iat(std::to_string(kNow));
  EXPECT_TRUE(verify_jwt(forge(R"({"alg":"HS256"})", payload, kSecret), key_, at_now()).ok());
  EXPECT_TRUE(verify_jwt(forge(R"({"alg":"HS256","typ":"JWT"})", payload, kSecret), key_, at_now()).ok());
}

TEST_F(JwtTest, RejectsCritHeader) {
  std::string payload = claims_with_iat(std::to_string(kNow));
  EXPECT_EQ(verify_error(forge(R"({"typ":"JWT","alg":"HS256","crit":["exp"]})", payload, kSecret)),
            "unsupported critical header");
}

TEST_F(JwtTest, RejectsHeaderOrPayloadThatIsNotAJsonObject) {
  std::string payload = claims_with_iat(std::to_string(kNow));
  EXPECT_EQ(verify_error(forge("[1]", payload, kSecret)), "header is not a JSON object");
  EXPECT_EQ(verify_error(forge("{", payload, kSecret)), "header is not a JSON object");
  EXPECT_EQ(verify_error(forge(R"({"typ":"JWT","alg":"HS256"})", "[]", kSecret)), "payload is not a JSON object");
  EXPECT_EQ(verify_error(forge(R"({"typ":"JWT","alg":"HS256"})", "\"x\"", kSecret)), "payload is not a JSON object");
  EXPECT_EQ(verify_error(forge(R"({"typ":"JWT","alg":"HS256"})", "{\"a\":\"\xff\"}", kSecret)),
            "payload is not a JSON object");
}

// --- verify: time ------------------------------------------------------------------------

TEST_F(JwtTest, AcceptsIatWithinSkew) {
  for (std::int64_t d : {-180, -1, 0, 1, 180}) {
    auto r = verify_jwt(forge(R"({"typ":"JWT","alg":"HS256"})", claims_with_iat(std::to_string(kNow + d)), kSecret),
                        key_, at_now());
    EXPECT_TRUE(r.ok()) << d << ": " << r.error();
  }
}

TEST_F(JwtTest, RejectsIatTooFarInPastOrFuture) {
  for (std::int64_t d : {-181, 181, -3600, 86400}) {
    std::string e = verify_error(forge(R"({"typ":"JWT","alg":"HS256"})", claims_with_iat(std::to_string(kNow + d)), kSecret));
    EXPECT_EQ(e, "iat is " + std::to_string(d) + " s from now (allowed ±180 s)");
  }
}

TEST_F(JwtTest, IatInMillisecondsIsRejected) {
  verify_error(forge(R"({"typ":"JWT","alg":"HS256"})", claims_with_iat(std::to_string(kNow * 1000)), kSecret));
}

TEST_F(JwtTest, MaxSkewIsConfigurable) {
  VerifyOptions opt = at_now();
  opt.max_skew = 10;
  std::string t = forge(R"({"typ":"JWT","alg":"HS256"})", claims_with_iat(std::to_string(kNow - 11)), kSecret);
  EXPECT_FALSE(verify_jwt(t, key_, opt).ok());
  opt.max_skew = 11;
  EXPECT_TRUE(verify_jwt(t, key_, opt).ok());
}

TEST_F(JwtTest, RejectsNonIntegerOrMissingIat) {
  for (const char* iat : {"\"1718000000\"", "1718000000.5", "1.718e9", "null", "true", "[1718000000]"})
    EXPECT_EQ(verify_error(forge(R"({"typ":"JWT","alg":"HS256"})", claims_with_iat(iat), kSecret)),
              "iat missing or not an integer")
        << iat;
  EXPECT_EQ(verify_error(forge(R"({"typ":"JWT","alg":"HS256"})", R"({"jti":"x"})", kSecret)),
            "iat missing or not an integer");
}

TEST_F(JwtTest, IatCheckCanBeTurnedOff) {
  VerifyOptions opt;
  opt.check_iat = false;
  EXPECT_TRUE(verify_jwt(forge(R"({"typ":"JWT","alg":"HS256"})", R"({"jti":"x"})", kSecret), key_, opt).ok());
}

TEST_F(JwtTest, RejectsExtremeIatWithoutOverflow) {
  auto err = [&](const char* iat) {
    return verify_error(forge(R"({"typ":"JWT","alg":"HS256"})", claims_with_iat(iat), kSecret));
  };
  const std::string out_of_range = "iat is not within ±180 s of now";
  // Either named as out of range, or an offset that kept its sign instead of wrapping around.
  std::string past = err("-9223372036854775808");
  EXPECT_TRUE(past == out_of_range || past.rfind("iat is -", 0) == 0) << past;
  std::string future = err("9223372036854775807");
  EXPECT_TRUE(future == out_of_range || future.rfind("iat is 9", 0) == 0) << future;
  EXPECT_EQ(err("9223372036854775808"), out_of_range);   // beyond int64
  EXPECT_EQ(err("18446744073709551615"), out_of_range);
}

TEST_F(JwtTest, RejectsExpiredExp) {
  auto tok = [&](const std::string& exp) {
    return forge(R"({"typ":"JWT","alg":"HS256"})",
                 R"({"iat":)" + std::to_string(kNow) + R"(,"exp":)" + exp + R"(,"jti":"x"})", kSecret);
  };
  EXPECT_EQ(verify_error(tok(std::to_string(kNow - 181))), "token expired");
  EXPECT_EQ(verify_error(tok(std::to_string(kNow - 100000))), "token expired");
  EXPECT_EQ(verify_error(tok("-9223372036854775808")), "token expired");
  EXPECT_TRUE(verify_jwt(tok(std::to_string(kNow - 180)), key_, at_now()).ok());   // within skew
  EXPECT_TRUE(verify_jwt(tok(std::to_string(kNow + 60)), key_, at_now()).ok());
  EXPECT_EQ(verify_error(tok("\"later\"")), "exp is not an integer");
  EXPECT_EQ(verify_error(tok("1.5")), "exp is not an integer");
}

TEST_F(JwtTest, FarFutureExpIsNotExpired) {
  auto r = verify_jwt(forge(R"({"typ":"JWT","alg":"HS256"})",
                            R"({"iat":)" + std::to_string(kNow) + R"(,"exp":9223372036854775807})", kSecret),
                      key_, at_now());
  EXPECT_TRUE(r.ok()) << r.error();
}

// --- unverified decoding ---------------------------------------------------------------------

TEST_F(JwtTest, DecodeUnverifiedReadsClaimsOfAForeignToken) {
  Secret other("other");
  Hs256Key other_key(other);
  auto token = sign_jwt(sample_claims(), other_key);
  ASSERT_TRUE(token.ok());
  EXPECT_FALSE(verify_jwt(*token, key_, at_now()).ok());
  auto c = decode_jwt_claims_unverified(*token);
  ASSERT_TRUE(c.ok()) << c.error();
  EXPECT_EQ((*c)["email"], "zoe@acme.com");
}

TEST_F(JwtTest, DecodeUnverifiedRejectsGarbage) {
  for (const char* bad : {"", "abc", "a.b.c.d", "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.!!!.x",
                          "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.W10.x"})
    EXPECT_FALSE(decode_jwt_claims_unverified(bad).ok()) << bad;
}

}  // namespace
}  // namespace zsso
