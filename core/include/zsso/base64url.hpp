// SPDX-License-Identifier: BSD-3-Clause
// base64url without padding (RFC 4648 §5), as JWS compact form needs; and
// standard padded base64 (RFC 4648 §4) encoding, for CSP hashes and data: URLs.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace zsso {

std::string base64url_encode(std::string_view bytes);
void base64url_encode_append(std::string& out, const unsigned char* bytes, std::size_t n);
// Strict: rejects padding, characters outside the alphabet, an impossible
// length (n % 4 == 1) and non-zero trailing bits.
std::optional<std::string> base64url_decode(std::string_view text);

// Standard alphabet (+ /) with '=' padding: what EVP_EncodeBlock makes.
std::string base64_encode(std::string_view bytes);
void base64_encode_append(std::string& out, const unsigned char* bytes, std::size_t n);
// Strict standard base64 (pam_u2f's authfile): padding required to a
// multiple of 4, no '-' or '_', zero trailing bits; one encoding per string.
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace zsso
