// SPDX-License-Identifier: BSD-3-Clause
#include "zsso/zendesk.hpp"

#include <algorithm>
#include <string>

#include "zsso/cidr.hpp"
#include "zsso/html.hpp"
#include "zsso/text.hpp"
#include "zsso/url.hpp"

namespace zsso {

std::string zendesk_host(const ZendeskConfig& zd) { return zd.subdomain + ".zendesk.com"; }

std::string jwt_endpoint(const ZendeskConfig& zd) {
  if (!zd.endpoint_override.empty()) return zd.endpoint_override;
  return "https://" + zendesk_host(zd) + "/access/jwt";
}

namespace {

// One lenient %XX decoding pass: a broken escape stays as it is.
std::string decode_once(std::string_view s) {
  auto hex = [](char c) {
    return c >= '0' && c <= '9' ? c - '0' : (c | 0x20) >= 'a' && (c | 0x20) <= 'f' ? (c | 0x20) - 'a' + 10 : -1;
  };
  std::string out;
  out.reserve(s.size());
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

// Whether the whole value stays safe however carelessly it is decoded on
// its way to the browser (by Zendesk, a proxy, a framework: up to three
// passes): no C0 control or DEL anywhere after any pass (browsers drop tab,
// CR and LF from URLs, so "/%09/evil" would become "//evil"; CR/LF split
// headers), and a relative path never turns into "//host" or "/\host".
bool survives_decoding(std::string_view value, bool relative) {
  std::string s(value);
  for (int pass = 0; pass < 4; ++pass) {
    if (has_control_chars(s)) return false;
    if (relative && s.size() > 1 && (s[1] == '/' || s[1] == '\\')) return false;
    if (s.find('%') == std::string::npos) return true;
    std::string decoded = decode_once(s);
    if (decoded == s) return true;   // nothing left to decode
    s = std::move(decoded);
  }
  return false;   // still encoded after three passes: nobody needs that
}

}  // namespace

std::optional<std::string> validate_return_to(std::string_view rt, const ZendeskConfig& zd) {
  if (rt.empty() || rt.size() > 2048) return std::nullopt;
  // No control characters (CR/LF header injection), spaces, backslashes
  // (browsers read "\" as "/"), or non-ASCII (IDN look-alikes).
  for (unsigned char c : rt)
    if (c <= 0x20 || c >= 0x7f || c == '\\') return std::nullopt;

  if (rt.front() == '/') {
    // A path on the Zendesk host; "//host" would be scheme-relative, and so
    // would "/%2F...", "/%5C..." or "/%09/..." after decoding.
    if (!survives_decoding(rt, /*relative=*/true)) return std::nullopt;
    return std::string(rt);
  }
  constexpr std::string_view kScheme = "https://";
  if (rt.size() <= kScheme.size() || ascii_lower(rt.substr(0, kScheme.size())) != kScheme) return std::nullopt;
  std::string_view rest = rt.substr(kScheme.size());
  auto end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, end);
  if (authority.find('@') != std::string_view::npos) return std::nullopt;   // userinfo
  if (authority.find('%') != std::string_view::npos) return std::nullopt;   // encoded host
  std::string_view host = authority;
  if (auto colon = authority.find(':'); colon != std::string_view::npos) {
    if (authority.substr(colon + 1) != "443") return std::nullopt;
    host = authority.substr(0, colon);
  }
  if (!host.empty() && host.back() == '.') host.remove_suffix(1);   // "host." is the same host
  std::string h = ascii_lower(host);
  if (h.empty()) return std::nullopt;
  if (!survives_decoding(rt, /*relative=*/false)) return std::nullopt;   // "%0d%0a" anywhere
  if (h == zendesk_host(zd) ||
      std::find(zd.return_to_hosts.begin(), zd.return_to_hosts.end(), h) != zd.return_to_hosts.end())
    return std::string(rt);
  return std::nullopt;
}

std::string jwt_get_url(const ZendeskConfig& zd, std::string_view jwt, std::string_view return_to) {
  std::string url = jwt_endpoint(zd);
  url += "?jwt=";
  url += jwt;   // base64url and dots: nothing to encode
  if (!return_to.empty()) {
    url += "&return_to=";
    url += percent_encode(return_to);
  }
  return url;
}

std::string jwt_post_form(const ZendeskConfig& zd, std::string_view jwt, std::string_view return_to,
                          std::string_view form_id, std::string_view button_label) {
  std::string f;
  f.reserve(512 + jwt.size() + return_to.size());
  f += "<form id=\"";
  html_escape_append(f, form_id);
  f += "\" method=\"post\" action=\"";
  html_escape_append(f, jwt_endpoint(zd));
  f += "\">\n<input type=\"hidden\" name=\"jwt\" value=\"";
  html_escape_append(f, jwt);
  f += "\">\n";
  if (!return_to.empty()) {
    f += "<input type=\"hidden\" name=\"return_to\" value=\"";
    html_escape_append(f, return_to);
    f += "\">\n";
  }
  f += "<button type=\"submit\">";
  html_escape_append(f, button_label);
  f += "</button>\n</form>\n";
  return f;
}

Result<std::string> loopback_origin(std::string_view base) {
  std::string_view rest;
  if (base.rfind("http://", 0) == 0) rest = base.substr(7);
  else if (base.rfind("https://", 0) == 0) rest = base.substr(8);
  else return Error{quote_for_log(base) + " must start with http:// or https://"};
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  std::string_view host = rest;
  if (!host.empty() && host.front() == '[') {
    auto close = host.find(']');
    if (close == std::string_view::npos) return Error{quote_for_log(base) + ": broken IPv6 literal"};
    std::string_view after = host.substr(close + 1);
    host = host.substr(1, close - 1);
    rest = after;
  } else {
    auto colon = host.find(':');
    rest = colon == std::string_view::npos ? std::string_view{} : host.substr(colon);
    host = host.substr(0, colon);
  }
  if (!rest.empty()) {
    if (rest.front() != ':' || rest.size() < 2 || rest.size() > 6 ||
        !std::all_of(rest.begin() + 1, rest.end(), [](char c) { return c >= '0' && c <= '9'; }))
      return Error{quote_for_log(base) + " must be scheme://host[:port] with no path"};
  }
  bool loopback = host == "localhost";
  if (auto ip = parse_ip(host)) {
    auto ranges = CidrSet::parse({"127.0.0.0/8", "::1/128"}, "loopback");
    loopback = ranges && ranges->contains(*ip);
  }
  if (!loopback) return Error{quote_for_log(base) + " is not a loopback address"};
  std::string out(base);
  if (out.back() == '/') out.pop_back();
  return out;
}

}  // namespace zsso
