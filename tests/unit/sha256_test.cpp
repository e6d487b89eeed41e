// SPDX-License-Identifier: BSD-3-Clause
// Our SHA-256 (the CGI's, for CSP hashes and log tags) against FIPS 180-4's
// examples and OpenSSL's EVP_Digest.
#include "zsso/sha256.hpp"

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <random>
#include <string>

#include "zsso/text.hpp"

namespace zsso {
namespace {

std::string hex_sha256(std::string_view s) {
  auto d = sha256(s);
  return hex_lower(d);
}

std::string openssl_sha256(std::string_view s) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (EVP_Digest(s.data(), s.size(), md, &n, EVP_sha256(), nullptr) != 1) return "EVP_Digest failed";
  return hex_lower({md, n});
}

// NIST's SHA-256 examples (FIPS 180-4 / CSRC "SHA256.pdf" and the SHAVS
// long-message vectors).
TEST(Sha256, NistVectors) {
  EXPECT_EQ(hex_sha256(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(hex_sha256("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(hex_sha256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(hex_sha256("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu"),
            "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
  EXPECT_EQ(hex_sha256(std::string(1000000, 'a')), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

// The compiler computes it too (constexpr): the CGI's fixed style and script
// digests are built that way. "abc" and the two-block vector, at compile time.
constexpr auto kAbc = sha256("abc");
static_assert(kAbc[0] == 0xba && kAbc[1] == 0x78 && kAbc[30] == 0x15 && kAbc[31] == 0xad);
constexpr auto kTwoBlocks = sha256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq");
static_assert(kTwoBlocks[0] == 0x24 && kTwoBlocks[1] == 0x8d && kTwoBlocks[31] == 0xc1);

TEST(Sha256, CompileTimeAndRunTimeAgree) {
  const std::string abc = "abc";
  EXPECT_EQ(sha256(abc), kAbc);
}

// Every length around the one- and two-block padding boundaries (55, 56, 63,
// 64, 119, 120...) and a few blocks more, random bytes, against OpenSSL.
TEST(Sha256, MatchesOpenSslForLengths0To300) {
  std::mt19937 rng(16);
  for (std::size_t n = 0; n <= 300; ++n) {
    std::string s(n, '\0');
    for (auto& c : s) c = static_cast<char>(rng());
    EXPECT_EQ(hex_sha256(s), openssl_sha256(s)) << "length " << n;
  }
}

}  // namespace
}  // namespace zsso
