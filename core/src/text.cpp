// SPDX-License-Identifier: BSD-3-Clause
#include "zsso/text.hpp"

#include <cstdint>
#include <cstdio>
#include <cstring>

namespace zsso {

namespace {

// Length of the well-formed UTF-8 sequence at p (1..4, code point in cp),
// or 0 for a broken one: bad lead or continuation byte, truncated,
// overlong, surrogate, beyond U+10FFFF.
std::size_t utf8_sequence(const unsigned char* p, const unsigned char* end, std::uint32_t& cp) {
  unsigned char c = *p;
  if (c < 0x80) { cp = c; return 1; }
  std::size_t n;
  if ((c & 0xE0) == 0xC0) { n = 1; cp = c & 0x1F; }
  else if ((c & 0xF0) == 0xE0) { n = 2; cp = c & 0x0F; }
  else if ((c & 0xF8) == 0xF0) { n = 3; cp = c & 0x07; }
  else return 0;
  if (static_cast<std::size_t>(end - p) <= n) return 0;
  for (std::size_t i = 1; i <= n; ++i) {
    if ((p[i] & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (p[i] & 0x3F);
  }
  if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000)) return 0;
  if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return n + 1;
}

// Characters a log viewer may act on rather than show: C0/C1 controls (NEL,
// U+0085, among them), line and paragraph separators, and every Unicode
// Bidi_Control (marks, embeddings, overrides, isolates).
bool unsafe_in_log(std::uint32_t cp) {
  return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0x2028 || cp == 0x2029 || cp == 0x061c ||
         cp == 0x200e || cp == 0x200f || (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

}  // namespace

bool is_valid_utf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  std::uint32_t cp;
  while (p < end) {
    std::size_t n = utf8_sequence(p, end, cp);
    if (n == 0) return false;
    p += n;
  }
  return true;
}

bool has_control_chars(std::string_view s) {
  for (unsigned char c : s)
    if (c < 0x20 || c == 0x7f) return true;
  return false;
}

std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

bool is_language_tag(std::string_view s) {
  auto alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); };
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  std::size_t n = 0;
  while (n < s.size() && alpha(s[n])) ++n;
  if (n < 2 || n > 3) return false;
  if (n == s.size()) return true;
  if (s[n] != '-' && s[n] != '_') return false;
  std::string_view region = s.substr(n + 1);
  if (region.size() == 2) return alpha(region[0]) && alpha(region[1]);
  if (region.size() == 3) return digit(region[0]) && digit(region[1]) && digit(region[2]);
  return false;
}

std::string_view trim(std::string_view s) {
  const char* ws = " \t\r\n";
  auto b = s.find_first_not_of(ws);
  if (b == std::string_view::npos) return {};
  auto e = s.find_last_not_of(ws);
  return s.substr(b, e - b + 1);
}

std::string quote_for_log(std::string_view s, std::size_t max) {
  std::string out = "\"";
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  std::size_t used = 0;
  auto escape = [&out](unsigned char c) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "\\x%02x", c);
    out += buf;
  };
  while (p < end) {
    std::uint32_t cp = 0;
    std::size_t n = utf8_sequence(p, end, cp);
    // A character is copied whole or not at all, so a cut never splits one.
    if (used + (n ? n : 1) > max) { out += "..."; break; }
    if (n == 0) {
      escape(*p);   // not UTF-8: every byte shown, none passed raw
      n = 1;
    } else if (unsafe_in_log(cp) || cp == '"' || cp == '\\') {
      for (std::size_t i = 0; i < n; ++i) escape(p[i]);
    } else {
      out.append(reinterpret_cast<const char*>(p), n);
    }
    p += n;
    used += n;
  }
  out += '"';
  return out;
}

std::optional<std::string> display_excerpt(std::string_view s, std::size_t max) {
  if (!is_valid_utf8(s)) return std::nullopt;
  std::string out;
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  std::size_t used = 0;
  while (p < end) {
    std::uint32_t cp = 0;
    std::size_t n = utf8_sequence(p, end, cp);
    if (used + n > max) { out += "\xe2\x80\xa6"; break; }
    if (unsafe_in_log(cp)) out += "\xef\xbf\xbd";
    else out.append(reinterpret_cast<const char*>(p), n);
    p += n;
    used += n;
  }
  return out;
}

std::string hex_lower(std::span<const unsigned char> bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * bytes.size());
  for (unsigned char b : bytes) {
    out += kHex[b >> 4];
    out += kHex[b & 15];
  }
  return out;
}

std::optional<std::string> bytes_from_hex_lower(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  std::string out;
  out.reserve(hex.size() / 2);
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    const int hi = nibble(hex[i]), lo = nibble(hex[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>(hi << 4 | lo);
  }
  return out;
}

std::string errno_text(int e) {
  char buf[128];
  // GNU strerror_r returns the message pointer.
  return ::strerror_r(e, buf, sizeof buf);
}

}  // namespace zsso
