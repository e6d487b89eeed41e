// SPDX-License-Identifier: BSD-3-Clause
// SHA-256 (FIPS 180-4), our own compact copy.
//
// Why not OpenSSL's: the CGI needs a digest only for the CSP 'sha256-…'
// hashes of its own inline style and script and for a log tag of a
// conversation id, and loading libcrypto for that cost more than the whole
// request (issue 16). Nothing secret goes through this: every HMAC, token and
// session signature stays OpenSSL's (zsso_crypto). Checked against the NIST
// vectors and OpenSSL's EVP_Digest in tests/unit/sha256_test.cpp.
#pragma once

#include <array>
#include <string_view>

namespace zsso {

std::array<unsigned char, 32> sha256(std::string_view data) noexcept;

}  // namespace zsso
