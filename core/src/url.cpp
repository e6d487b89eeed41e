// SPDX-License-Identifier: BSD-3-Clause
#include "zsso/url.hpp"

namespace zsso {

namespace {
int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
bool unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
         c == '-' || c == '.' || c == '_' || c == '~';
}

// Decodes into out, whose one buffer is sized once (decoding only shrinks),
// so no copy of the value is left behind in a buffer it grew out of.
bool decode_into(std::string& out, std::string_view s, bool form) {
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '%') {
      if (i + 2 >= s.size()) return false;
      int h = hexval(s[i + 1]), l = hexval(s[i + 2]);
      if (h < 0 || l < 0) return false;
      out += static_cast<char>(h * 16 + l);
      i += 2;
    } else if (c == '+' && form) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return true;
}
}  // namespace

std::string percent_encode(std::string_view s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size() * 3 / 2);
  for (unsigned char c : s) {
    if (unreserved(c)) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

std::optional<std::string> percent_decode(std::string_view s, bool form) {
  std::string out;
  if (!decode_into(out, s, form)) return std::nullopt;
  return out;
}

std::optional<FormFields> parse_form(std::string_view s, std::size_t max_fields) {
  FormFields fields;
  // Whatever was decoded before a refusal is wiped, long values (their own
  // heap buffers) and short ones alike.
  auto refuse = [&fields]() -> std::optional<FormFields> {
    for (auto& [k, v] : fields) {
      secure_wipe(k.data(), k.size());
      secure_wipe(v.data(), v.size());
    }
    return std::nullopt;
  };
  while (!s.empty()) {
    auto amp = s.find('&');
    std::string_view part = s.substr(0, amp);
    s = amp == std::string_view::npos ? std::string_view{} : s.substr(amp + 1);
    if (part.empty()) continue;
    if (fields.size() >= max_fields) return refuse();
    auto eq = part.find('=');
    FormField& f = fields.emplace_back();
    if (!decode_into(f.first, part.substr(0, eq), true) ||
        !decode_into(f.second, eq == std::string_view::npos ? std::string_view{} : part.substr(eq + 1), true))
      return refuse();
  }
  return fields;
}

const std::string* form_get(const FormFields& f, std::string_view key) {
  for (const auto& [k, v] : f)
    if (k == key) return &v;
  return nullptr;
}

std::size_t form_count(const FormFields& f, std::string_view key) {
  std::size_t n = 0;
  for (const auto& kv : f)
    if (kv.first == key) ++n;
  return n;
}

}  // namespace zsso
