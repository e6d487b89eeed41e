// SPDX-License-Identifier: BSD-3-Clause
#include "csrf.hpp"

#include "zsso/base64url.hpp"
#include "zsso/random.hpp"
#include "zsso/secret.hpp"
#include "zsso/text.hpp"

namespace zsso::cgi {

const char* to_string(CsrfCheck c) {
  switch (c) {
    case CsrfCheck::ok: return "ok";
    case CsrfCheck::missing: return "missing";
    case CsrfCheck::mismatch: return "cookie and form token differ";
    case CsrfCheck::malformed: return "malformed";
    case CsrfCheck::several: return "sent in several different cookies";
  }
  return "?";
}

Result<std::string> new_csrf_token() {
  unsigned char raw[kCsrfTokenBytes];
  if (!random_bytes(raw, sizeof raw)) return Error{"getrandom failed"};
  std::string out;
  base64url_encode_append(out, raw, sizeof raw);
  return out;
}

bool is_csrf_token(std::string_view token) {
  if (token.size() != kCsrfTokenChars) return false;
  auto raw = base64url_decode(token);   // strict: alphabet, no padding, no stray bits
  return raw && raw->size() == kCsrfTokenBytes;
}

CsrfCheck check_csrf(const std::vector<std::string_view>& cookie_values, std::string_view form_value) {
  if (cookie_values.empty() || form_value.empty()) return CsrfCheck::missing;
  if (!is_csrf_token(form_value)) return CsrfCheck::malformed;
  auto same = [](std::string_view a, std::string_view b) {
    return a.size() == b.size() && constant_time_equal(a.data(), b.data(), a.size());
  };
  // A twin planted beside ours (plain HTTP: a sibling host's Domain= cookie,
  // another path's) must not let its value pass because one of the two matches.
  for (auto c : cookie_values)
    if (!same(c, cookie_values.front())) return CsrfCheck::several;
  return same(cookie_values.front(), form_value) ? CsrfCheck::ok : CsrfCheck::mismatch;
}

std::string cross_site_refusal(std::string_view sec_fetch_site, std::string_view origin, std::string_view own_origin) {
  if (!sec_fetch_site.empty()) {
    std::string site = ascii_lower(trim(sec_fetch_site));
    if (site == "same-origin" || site == "none") return {};
    return "Sec-Fetch-Site " + quote_for_log(sec_fetch_site, 32);
  }
  if (origin.empty()) return {};
  // Origin is "scheme://host[:port]" without a default port, or "null".
  // Only host[:port] is compared, as Go's CrossOriginProtection does: behind
  // a TLS-terminating proxy the CGI may see http while the browser says
  // https, and a scheme-only difference is no cross-site form.
  auto authority = [](std::string_view o) -> std::string {
    auto at = o.find("://");
    return at == std::string_view::npos ? std::string() : ascii_lower(o.substr(at + 3));
  };
  const std::string theirs = authority(trim(origin));
  if (!theirs.empty() && theirs == authority(own_origin)) return {};
  return "Origin " + quote_for_log(origin, 100) + " is not this site's " + quote_for_log(own_origin, 100);
}

}  // namespace zsso::cgi
