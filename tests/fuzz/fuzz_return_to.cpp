// SPDX-License-Identifier: BSD-3-Clause
// return_to validation (validate_return_to): the open-redirect guard. Beyond
// "no crash", whatever it accepts must be safe to put in a Location header or
// form: no control characters or backslashes (also after up to three
// decoding passes, anywhere in the value), and either a path on the Zendesk
// host ("/x", never "//x") or an https URL whose host is an allowed one.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_support.hpp"
#include "zsso/text.hpp"
#include "zsso/zendesk.hpp"

namespace {

// Lenient %XX decoding, written here independently of the code under test.
std::string decode_once(const std::string& s) {
  auto hex = [](char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
      out += static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

const zsso::ZendeskConfig& fuzz_zendesk() {
  static const zsso::ZendeskConfig zd = [] {
    zsso::ZendeskConfig z;
    z.subdomain = "acme";
    z.return_to_hosts = {"help.acme.com", "support.example.org"};
    return z;
  }();
  return zd;
}

// The host a browser would go to for an absolute https URL, checked here
// independently of the code under test: scheme, then authority up to the
// first '/', '?' or '#'.
bool https_on_allowed_host(std::string_view url) {
  std::string lower = zsso::ascii_lower(url);
  if (lower.rfind("https://", 0) != 0) return false;
  std::string_view rest = std::string_view(lower).substr(8);
  std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
  if (authority.find('@') != std::string_view::npos) return false;
  if (authority.size() >= 4 && authority.substr(authority.size() - 4) == ":443")
    authority.remove_suffix(4);
  if (!authority.empty() && authority.back() == '.') authority.remove_suffix(1);
  const auto& zd = fuzz_zendesk();
  return authority == "acme.zendesk.com" ||
         std::find(zd.return_to_hosts.begin(), zd.return_to_hosts.end(), authority) != zd.return_to_hosts.end();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto input = fuzz_input(data, size);
  auto ok = zsso::validate_return_to(input, fuzz_zendesk());
  if (!ok) return 0;
  const std::string& rt = *ok;
  FUZZ_CHECK(rt == input);   // accepted as given, never rewritten
  FUZZ_CHECK(!rt.empty() && rt.size() <= 2048);
  FUZZ_CHECK(!zsso::has_control_chars(rt));
  FUZZ_CHECK(rt.find('\\') == std::string::npos);
  FUZZ_CHECK(rt.find(' ') == std::string::npos);
  FUZZ_CHECK(zsso::is_valid_utf8(rt));
  // However often it is decoded (three careless passes), no control
  // character appears anywhere - browsers drop tab/CR/LF, so none can turn
  // the value into "//host" - and a path stays a path.
  std::string decoded = rt;
  for (int pass = 0; pass < 3; ++pass) {
    decoded = decode_once(decoded);
    FUZZ_CHECK(!zsso::has_control_chars(decoded));
    if (rt.front() == '/') FUZZ_CHECK(decoded.size() < 2 || (decoded[1] != '/' && decoded[1] != '\\'));
  }
  if (rt.front() == '/') {
    FUZZ_CHECK(rt.size() == 1 || rt[1] != '/');
  } else {
    FUZZ_CHECK(https_on_allowed_host(rt));
  }
  return 0;
}
