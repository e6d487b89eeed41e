// SPDX-License-Identifier: BSD-3-Clause
// The CGI/1.1 request (RFC 3875): meta-variables from the environment, the
// body from stdin with a hard cap.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "zsso/secret.hpp"

namespace zsso::cgi {

inline constexpr std::size_t kMaxBody = 8 * 1024;

struct Request {
  std::string method;          // REQUEST_METHOD
  std::string script_name;     // SCRIPT_NAME: where the CGI is mounted, e.g. /zendesk
  std::string path_info;       // PATH_INFO: /login, /login/agents, /logout
  std::string query;           // QUERY_STRING
  std::string content_type;    // CONTENT_TYPE
  std::optional<std::size_t> content_length;   // CONTENT_LENGTH, absent or unparsable: nullopt
  bool content_length_invalid = false;
  std::string remote_addr;     // REMOTE_ADDR
  std::string remote_user;     // REMOTE_USER (set by an Apache auth module)
  std::string auth_type;       // AUTH_TYPE: set by the server only when it authenticated the user
  std::string forwarded_for;   // HTTP_X_FORWARDED_FOR
  std::string cookie;          // HTTP_COOKIE
  std::string accept_language; // HTTP_ACCEPT_LANGUAGE: the pages' language when Zendesk names none
  bool https = false;          // HTTPS=on
  std::string forwarded_proto; // HTTP_X_FORWARDED_PROTO (believed only from a trusted proxy)
  std::string host;            // HTTP_HOST
  std::string server_name;     // SERVER_NAME, SERVER_PORT: this site when there is no Host (HTTP/1.0)
  std::string server_port;
  std::string origin;          // HTTP_ORIGIN
  std::string sec_fetch_site;  // HTTP_SEC_FETCH_SITE
  SecureBytes body;            // holds the password: wiped when freed
  std::size_t body_consumed = 0;   // bytes taken from stdin so far
  // No CONTENT_LENGTH but a body (Transfer-Encoding: chunked) that runs to
  // EOF and is not all read: before read_body, or when it stopped at its cap.
  bool body_left_unread = false;

  std::string_view body_view() const {
    return {reinterpret_cast<const char*>(body.data()), body.size()};
  }
};

Request request_from_environment();

enum class BodyStatus { ok, too_large, bad };
// Reads the body from fd: exactly CONTENT_LENGTH bytes, or up to EOF when the
// server sent none; more than max is too_large without reading it all.
BodyStatus read_body(Request& req, int fd, std::size_t max = kMaxBody);

// Reads and drops what is left of the body (up to cap) before exit: a CGI
// that leaves input unread makes mod_cgid's socket reset and the response
// is lost. Refusals (405, 413, 415) happen before reading. A body without
// CONTENT_LENGTH (chunked) is drained to EOF when it was not read to the end.
void discard_unread_body(Request& req, int fd, std::size_t cap = 1 << 20);

// This site's origin as a browser writes it in an Origin header:
// "http(s)://host[:port]", the port only when not the scheme's default;
// the host from Host, else SERVER_NAME and SERVER_PORT. https: served over
// HTTPS here or at a trusted TLS-terminating proxy.
std::string own_origin(const Request& req, bool https);

// application/x-www-form-urlencoded, parameters (charset) allowed.
bool is_form_urlencoded(std::string_view content_type);

// Every value of the cookie called name in a Cookie header (the browser may
// send several with different paths).
std::vector<std::string_view> cookie_values(std::string_view header, std::string_view name);

}  // namespace zsso::cgi
