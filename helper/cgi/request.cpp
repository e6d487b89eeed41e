// SPDX-License-Identifier: BSD-3-Clause
#include "request.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdlib>

#include "zsso/text.hpp"

namespace zsso::cgi {

namespace {
std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}
}  // namespace

Request request_from_environment() {
  Request r;
  r.method = env("REQUEST_METHOD");
  r.script_name = env("SCRIPT_NAME");
  r.path_info = env("PATH_INFO");
  r.query = env("QUERY_STRING");
  r.content_type = env("CONTENT_TYPE");
  r.remote_addr = env("REMOTE_ADDR");
  r.remote_user = env("REMOTE_USER");
  r.auth_type = env("AUTH_TYPE");
  r.forwarded_for = env("HTTP_X_FORWARDED_FOR");
  r.accept_language = env("HTTP_ACCEPT_LANGUAGE");
  r.cookie = env("HTTP_COOKIE");
  r.https = ascii_lower(env("HTTPS")) == "on";
  r.forwarded_proto = env("HTTP_X_FORWARDED_PROTO");
  r.host = env("HTTP_HOST");
  r.server_name = env("SERVER_NAME");
  r.server_port = env("SERVER_PORT");
  r.origin = env("HTTP_ORIGIN");
  r.sec_fetch_site = env("HTTP_SEC_FETCH_SITE");
  std::string len = env("CONTENT_LENGTH");
  if (!len.empty()) {
    std::size_t n = 0;
    auto [end, ec] = std::from_chars(len.data(), len.data() + len.size(), n);
    if (ec == std::errc() && end == len.data() + len.size()) r.content_length = n;
    else r.content_length_invalid = true;
  } else {
    r.body_left_unread = !env("HTTP_TRANSFER_ENCODING").empty();   // Apache passes chunked bodies this way
  }
  return r;
}

BodyStatus read_body(Request& req, int fd, std::size_t max) {
  if (req.content_length_invalid) return BodyStatus::bad;
  if (req.content_length && *req.content_length > max) return BodyStatus::too_large;
  // Without CONTENT_LENGTH read to EOF, one byte past the cap to tell "too large".
  const std::size_t want = req.content_length ? *req.content_length : max + 1;
  req.body.assign(want, 0);
  std::size_t got = 0;
  while (got < want) {
    ssize_t n = ::read(fd, req.body.data() + got, want - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  req.body.resize(got);   // shrinking keeps the buffer; it is wiped when freed
  req.body_consumed = got;
  if (!req.content_length) {
    req.body_left_unread = got > max;
    return got > max ? BodyStatus::too_large : BodyStatus::ok;
  }
  return got == want ? BodyStatus::ok : BodyStatus::bad;
}

void discard_unread_body(Request& req, int fd, std::size_t cap) {
  std::size_t left = 0;
  if (req.content_length && *req.content_length > req.body_consumed)
    left = std::min(*req.content_length - req.body_consumed, cap);
  else if (!req.content_length && req.body_left_unread)
    left = cap;   // up to EOF
  else
    return;
  char sink[4096];
  while (left > 0) {
    ssize_t n = ::read(fd, sink, std::min(left, sizeof sink));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    left -= static_cast<std::size_t>(n);
    req.body_consumed += static_cast<std::size_t>(n);
  }
  secure_wipe(sink, sizeof sink);
}

std::string own_origin(const Request& req, bool https) {
  std::string host = ascii_lower(trim(req.host));
  if (host.empty() && !req.server_name.empty()) {
    host = ascii_lower(trim(req.server_name));
    if (host.find(':') != std::string::npos && host.front() != '[') {   // IPv6 literal
      host.insert(host.begin(), '[');
      host += ']';
    }
    if (!trim(req.server_port).empty()) {
      host += ':';
      host += trim(req.server_port);
    }
  }
  if (host.empty()) return {};
  const std::string_view default_port = https ? ":443" : ":80";
  if (host.size() > default_port.size() && host.ends_with(default_port)) host.resize(host.size() - default_port.size());
  // Appended piece by piece: gcc 12's -O3 flags "literal" + std::string as -Wrestrict.
  std::string origin = https ? "https://" : "http://";
  origin += host;
  return origin;
}

bool is_form_urlencoded(std::string_view ct) {
  std::string_view type = trim(ct.substr(0, ct.find(';')));
  return ascii_lower(type) == "application/x-www-form-urlencoded";
}

std::vector<std::string_view> cookie_values(std::string_view header, std::string_view name) {
  std::vector<std::string_view> out;
  while (!header.empty()) {
    auto semi = header.find(';');
    std::string_view pair = trim(header.substr(0, semi));
    header = semi == std::string_view::npos ? std::string_view{} : header.substr(semi + 1);
    auto eq = pair.find('=');
    if (eq == std::string_view::npos) continue;
    if (trim(pair.substr(0, eq)) != name) continue;
    std::string_view value = trim(pair.substr(eq + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') value = value.substr(1, value.size() - 2);
    out.push_back(value);
  }
  return out;
}

}  // namespace zsso::cgi
