// SPDX-License-Identifier: BSD-3-Clause
#include "zsso/base64url.hpp"

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <random>
#include <string>
#include <utility>
#include <vector>

namespace zsso {
namespace {

// RFC 4648 §10 test vectors, without the padding base64url leaves off.
const std::pair<std::string, std::string> kRfc4648Vectors[] = {
    {"", ""},          {"f", "Zg"},         {"fo", "Zm8"},        {"foo", "Zm9v"},
    {"foob", "Zm9vYg"}, {"fooba", "Zm9vYmE"}, {"foobar", "Zm9vYmFy"},
};

TEST(Base64Url, EncodesRfc4648VectorsWithoutPadding) {
  for (const auto& [plain, encoded] : kRfc4648Vectors) EXPECT_EQ(base64url_encode(plain), encoded) << plain;
}

TEST(Base64Url, DecodesRfc4648Vectors) {
  for (const auto& [plain, encoded] : kRfc4648Vectors) {
    auto d = base64url_decode(encoded);
    ASSERT_TRUE(d.has_value()) << encoded;
    EXPECT_EQ(*d, plain);
  }
}

TEST(Base64Url, UsesDashAndUnderscoreForTheLastTwoDigits) {
  // Standard base64 would be "+/8=" and "////".
  EXPECT_EQ(base64url_encode(std::string("\xfb\xff", 2)), "-_8");
  EXPECT_EQ(base64url_encode(std::string("\xff\xff\xff", 3)), "____");
  EXPECT_EQ(base64url_decode("-_8"), std::string("\xfb\xff", 2));
}

TEST(Base64Url, EncodeAppendKeepsExistingText) {
  std::string out = "head.";
  const unsigned char bytes[] = {'f', 'o', 'o'};
  base64url_encode_append(out, bytes, sizeof bytes);
  EXPECT_EQ(out, "head.Zm9v");
}

TEST(Base64Url, RejectsPadding) {
  EXPECT_FALSE(base64url_decode("Zg==").has_value());
  EXPECT_FALSE(base64url_decode("Zm8=").has_value());
  EXPECT_FALSE(base64url_decode("=").has_value());
}

TEST(Base64Url, RejectsStandardBase64Alphabet) {
  EXPECT_FALSE(base64url_decode("+/8").has_value());
  EXPECT_FALSE(base64url_decode("ab+c").has_value());
  EXPECT_FALSE(base64url_decode("ab/c").has_value());
}

TEST(Base64Url, RejectsCharactersOutsideTheAlphabet) {
  for (const std::string& bad : std::vector<std::string>{"Zm 9v", "Zm9v\n", "Zm.9", "Zm9v!", "\xc3\xa9xx", std::string("Zm\0v", 4)})
    EXPECT_FALSE(base64url_decode(bad).has_value()) << bad;
}

TEST(Base64Url, RejectsImpossibleLength) {
  EXPECT_FALSE(base64url_decode("A").has_value());
  EXPECT_FALSE(base64url_decode("Zm9vY").has_value());
  EXPECT_FALSE(base64url_decode("Zm9vYmFyZ").has_value());
}

TEST(Base64Url, RejectsNonZeroTrailingBits) {
  // "Zg" is "f"; "Zh".."Zv" carry the same byte plus set trailing bits.
  EXPECT_FALSE(base64url_decode("Zh").has_value());
  EXPECT_FALSE(base64url_decode("Zv").has_value());
  EXPECT_FALSE(base64url_decode("Zm9").has_value());   // "fo" is "Zm8"
  EXPECT_TRUE(base64url_decode("Zg").has_value());
  EXPECT_TRUE(base64url_decode("Zm8").has_value());
}

TEST(Base64Url, EveryByteStringHasExactlyOneEncoding) {
  // For 1- and 2-byte tails, exactly one last digit decodes.
  for (const char* prefix : {"Z", "Zm"}) {
    int accepted = 0;
    for (char c : std::string("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"))
      accepted += base64url_decode(std::string(prefix) + c).has_value() ? 1 : 0;
    EXPECT_EQ(accepted, std::string(prefix) == "Z" ? 4 : 16) << prefix;   // 4 or 2 bits must be zero
  }
}

TEST(Base64Url, RoundTripsRandomBytes) {
  std::mt19937 rng(20240611);
  std::uniform_int_distribution<int> byte(0, 255);
  for (std::size_t len = 0; len < 300; ++len) {
    std::string bytes(len, '\0');
    for (auto& b : bytes) b = static_cast<char>(byte(rng));
    std::string enc = base64url_encode(bytes);
    EXPECT_EQ(enc.size(), (len * 4 + 2) / 3);
    EXPECT_EQ(enc.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
              std::string::npos);
    auto dec = base64url_decode(enc);
    ASSERT_TRUE(dec.has_value()) << len;
    EXPECT_EQ(*dec, bytes) << len;
  }
}

// Standard padded base64 (CSP hashes, the logo's data: URL).
TEST(Base64, EncodesRfc4648VectorsWithPadding) {
  const std::pair<std::string, std::string> vectors[] = {
      {"", ""},           {"f", "Zg=="},         {"fo", "Zm8="},         {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"},
  };
  for (const auto& [plain, encoded] : vectors) EXPECT_EQ(base64_encode(plain), encoded) << plain;
}

TEST(Base64, MatchesOpenSslEncodeBlock) {
  std::mt19937 rng(16);
  std::uniform_int_distribution<int> byte(0, 255);
  for (std::size_t len = 0; len <= 300; ++len) {
    std::string bytes(len, '\0');
    for (auto& b : bytes) b = static_cast<char>(byte(rng));
    std::string expect(4 * ((len + 2) / 3) + 1, '\0');
    int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(expect.data()),
                            reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(len));
    expect.resize(static_cast<std::size_t>(n));
    EXPECT_EQ(base64_encode(bytes), expect) << len;
    // The appending form adds to what is there, as base64url_encode_append does.
    std::string out = "data:;base64,";
    base64_encode_append(out, reinterpret_cast<const unsigned char*>(bytes.data()), len);
    EXPECT_EQ(out, "data:;base64," + expect) << len;
  }
}

}  // namespace
}  // namespace zsso

// Standard padded base64 as pamu2fcfg writes key handles and public keys.
TEST(Base64Std, DecodesRfc4648VectorsStrictly) {
  EXPECT_EQ(zsso::base64_decode(""), std::string());
  EXPECT_EQ(zsso::base64_decode("Zg=="), std::string("f"));
  EXPECT_EQ(zsso::base64_decode("Zm8="), std::string("fo"));
  EXPECT_EQ(zsso::base64_decode("Zm9v"), std::string("foo"));
  EXPECT_EQ(zsso::base64_decode("+/+/"), std::string("\xfb\xff\xbf", 3));
  EXPECT_FALSE(zsso::base64_decode("Zg"));      // padding required
  EXPECT_FALSE(zsso::base64_decode("Zh=="));    // non-zero trailing bits
  EXPECT_FALSE(zsso::base64_decode("-_-_"));    // url alphabet
  EXPECT_FALSE(zsso::base64_decode("Z==="));
  EXPECT_FALSE(zsso::base64_decode("Zg==Zg=="));
  for (std::string bytes : {std::string("\x00\x01\xfe\xff", 4), std::string("ab"), std::string(65, '\x9c')})
    EXPECT_EQ(zsso::base64_decode(zsso::base64_encode(bytes)), bytes);
}
