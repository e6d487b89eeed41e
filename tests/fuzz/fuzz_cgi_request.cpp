// SPDX-License-Identifier: BSD-3-Clause
// The CGI's parsing of request metadata (helper/cgi): Cookie headers
// (cookie_values), Content-Type (is_form_urlencoded), REMOTE_ADDR with
// X-Forwarded-For through trusted proxies (resolve_client_address), the CSRF
// double-submit check and the request body reader.
// Input: mode byte, then fields separated by NUL.
//   0: cookie header NUL cookie name
//   1: REMOTE_ADDR NUL X-Forwarded-For
//   2: cookie header NUL form csrf value       (passes only as an equal, well-formed pair)
//   3: CONTENT_LENGTH text NUL body bytes      (read_body from a pipe)
#include <unistd.h>

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <string>

#include "client_address.hpp"
#include "csrf.hpp"
#include "fuzz_support.hpp"
#include "request.hpp"
#include "zsso/text.hpp"

namespace {

std::string_view next_field(std::string_view& rest) {
  auto nul = rest.find('\0');
  auto f = rest.substr(0, nul);
  rest = nul == std::string_view::npos ? std::string_view{} : rest.substr(nul + 1);
  return f;
}

const zsso::CidrSet& trusted_proxies() {
  static const zsso::CidrSet set = *zsso::CidrSet::parse({"127.0.0.1", "10.0.0.0/8", "2001:db8::/32"}, "trusted");
  return set;
}

void cookies(std::string_view header, std::string_view name) {
  auto values = zsso::cgi::cookie_values(header, name);
  for (auto v : values) {
    // Views into the header (an empty one may point nowhere), never past a ';'.
    if (!v.empty()) FUZZ_CHECK(v.data() >= header.data() && v.data() + v.size() <= header.data() + header.size());
    FUZZ_CHECK(v.find(';') == std::string_view::npos);
  }
  (void)zsso::cgi::is_form_urlencoded(header);
}

void client(std::string_view remote, std::string_view xff) {
  auto r = zsso::cgi::resolve_client_address(remote, xff, trusted_proxies());
  if (!r) return;
  auto peer = zsso::parse_ip(remote);
  FUZZ_CHECK(peer.has_value());
  FUZZ_CHECK(zsso::parse_ip(r->text) == r->address);
  FUZZ_CHECK(!zsso::has_control_chars(r->text));
  // Only a trusted proxy's X-Forwarded-For is believed.
  if (!trusted_proxies().contains(*peer)) FUZZ_CHECK(!r->via_proxy && r->address == *peer);
}

void csrf(std::string_view cookie_header, std::string_view form_value) {
  auto values = zsso::cgi::cookie_values(cookie_header, "zsso_csrf");
  auto c = zsso::cgi::check_csrf(values, form_value);
  (void)zsso::cgi::to_string(c);
  // Passes exactly when the field is well-formed and every cookie value
  // (at least one) equals it: a planted twin beside ours never passes.
  bool equal = !values.empty();
  for (auto v : values) equal = equal && v == form_value;
  FUZZ_CHECK((c == zsso::cgi::CsrfCheck::ok) == (zsso::cgi::is_csrf_token(form_value) && equal));
  // A genuine token passes only with both halves equal.
  auto token = zsso::cgi::new_csrf_token();
  FUZZ_CHECK(token.ok());
  std::vector<std::string_view> genuine{*token};
  FUZZ_CHECK(zsso::cgi::check_csrf(genuine, *token) == zsso::cgi::CsrfCheck::ok);
  if (form_value != *token) FUZZ_CHECK(zsso::cgi::check_csrf(genuine, form_value) != zsso::cgi::CsrfCheck::ok);
}

void body(std::string_view length, std::string_view bytes) {
  zsso::cgi::Request req;
  if (!length.empty()) {
    std::size_t n = 0;
    auto [end, ec] = std::from_chars(length.data(), length.data() + length.size(), n);
    if (ec == std::errc() && end == length.data() + length.size()) req.content_length = n;
    else req.content_length_invalid = true;
  }
  int p[2];
  FUZZ_CHECK(::pipe(p) == 0);
  // Inputs are far below the pipe's 64 KiB buffer.
  FUZZ_CHECK(::write(p[1], bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size()));
  ::close(p[1]);
  constexpr std::size_t kMax = 256;   // small, so fuzz inputs reach "too large"
  auto st = zsso::cgi::read_body(req, p[0], kMax);
  zsso::cgi::discard_unread_body(req, p[0]);
  ::close(p[0]);
  if (st == zsso::cgi::BodyStatus::ok) {
    FUZZ_CHECK(req.body.size() <= kMax);
    if (req.content_length) FUZZ_CHECK(req.body.size() == *req.content_length);
    FUZZ_CHECK(req.body_view() == bytes.substr(0, req.body.size()));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  auto rest = fuzz_input(data + 1, size - 1);
  auto a = next_field(rest);
  auto b = rest;   // the last field may hold NULs
  switch (data[0] & 3) {
    case 0: cookies(a, b); break;
    case 1: client(a, b); break;
    case 2: csrf(a, b); break;
    case 3: body(a, b); break;
  }
  return 0;
}
