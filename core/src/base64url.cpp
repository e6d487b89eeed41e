// SPDX-License-Identifier: BSD-3-Clause
#include "zsso/base64url.hpp"

#include <array>
#include <cstdint>

namespace zsso {

namespace {
constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
constexpr char kStdAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr std::array<std::int8_t, 256> make_reverse() {
  std::array<std::int8_t, 256> t{};
  for (auto& v : t) v = -1;
  for (int i = 0; i < 64; ++i) t[static_cast<unsigned char>(kAlphabet[i])] = static_cast<std::int8_t>(i);
  return t;
}
constexpr auto kReverse = make_reverse();
}  // namespace

namespace {
// Encodes with either alphabet; padded adds '=' to a multiple of 4 characters.
void encode_append(std::string& out, const unsigned char* in, std::size_t n, const char* alphabet, bool padded) {
  std::size_t pos = out.size();
  out.resize(pos + (padded ? (n + 2) / 3 * 4 : (n * 4 + 2) / 3));
  char* o = out.data() + pos;
  std::size_t i = 0;
  for (; i + 3 <= n; i += 3) {
    std::uint32_t v = (std::uint32_t{in[i]} << 16) | (std::uint32_t{in[i + 1]} << 8) | in[i + 2];
    *o++ = alphabet[v >> 18];
    *o++ = alphabet[(v >> 12) & 63];
    *o++ = alphabet[(v >> 6) & 63];
    *o++ = alphabet[v & 63];
  }
  if (n - i == 1) {
    std::uint32_t v = std::uint32_t{in[i]} << 16;
    *o++ = alphabet[v >> 18];
    *o++ = alphabet[(v >> 12) & 63];
    if (padded) {
      *o++ = '=';
      *o++ = '=';
    }
  } else if (n - i == 2) {
    std::uint32_t v = (std::uint32_t{in[i]} << 16) | (std::uint32_t{in[i + 1]} << 8);
    *o++ = alphabet[v >> 18];
    *o++ = alphabet[(v >> 12) & 63];
    *o++ = alphabet[(v >> 6) & 63];
    if (padded) *o++ = '=';
  }
}
}  // namespace

void base64url_encode_append(std::string& out, const unsigned char* in, std::size_t n) {
  encode_append(out, in, n, kAlphabet, false);
}

void base64_encode_append(std::string& out, const unsigned char* in, std::size_t n) {
  encode_append(out, in, n, kStdAlphabet, true);
}

std::string base64_encode(std::string_view bytes) {
  std::string out;
  base64_encode_append(out, reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
  return out;
}

std::string base64url_encode(std::string_view bytes) {
  std::string out;
  base64url_encode_append(out, reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
  return out;
}

std::optional<std::string> base64url_decode(std::string_view text) {
  std::size_t n = text.size();
  if (n % 4 == 1) return std::nullopt;
  // Sized once and written in place: 4 characters -> 3 bytes, then the tail.
  std::string out(n / 4 * 3 + (n % 4 == 0 ? 0 : n % 4 - 1), '\0');
  char* o = out.data();
  const auto* in = reinterpret_cast<const unsigned char*>(text.data());
  std::size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    int a = kReverse[in[i]], b = kReverse[in[i + 1]], c = kReverse[in[i + 2]], d = kReverse[in[i + 3]];
    if ((a | b | c | d) < 0) return std::nullopt;
    std::uint32_t v = (std::uint32_t(a) << 18) | (std::uint32_t(b) << 12) | (std::uint32_t(c) << 6) | std::uint32_t(d);
    *o++ = static_cast<char>(v >> 16);
    *o++ = static_cast<char>((v >> 8) & 0xFF);
    *o++ = static_cast<char>(v & 0xFF);
  }
  if (std::size_t rest = n - i; rest > 0) {
    int a = kReverse[in[i]], b = kReverse[in[i + 1]], c = rest == 3 ? kReverse[in[i + 2]] : 0;
    if ((a | b | c) < 0) return std::nullopt;
    std::uint32_t v = (std::uint32_t(a) << 18) | (std::uint32_t(b) << 12) | (std::uint32_t(c) << 6);
    // Leftover bits must be zero, so each byte string has exactly one encoding.
    if ((rest == 2 && (v & 0xFFFF)) || (rest == 3 && (v & 0xFF))) return std::nullopt;
    *o++ = static_cast<char>(v >> 16);
    if (rest == 3) *o++ = static_cast<char>((v >> 8) & 0xFF);
  }
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  std::size_t pad = text.ends_with("==") ? 2 : text.ends_with('=') ? 1 : 0;
  std::string url(text.substr(0, text.size() - pad));
  for (char& c : url) {
    if (c == '-' || c == '_') return std::nullopt;
    if (c == '+') c = '-';
    else if (c == '/') c = '_';
  }
  return base64url_decode(url);
}

}  // namespace zsso
