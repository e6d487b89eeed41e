// SPDX-License-Identifier: BSD-3-Clause
// One HTTP response as a CGI writes it, with the headers every response carries.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "zsso/audit.hpp"
#include "zsso/config.hpp"

namespace zsso::cgi {

struct Response {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;   // beyond the common ones
  std::string body;
  std::string content_security_policy;   // empty: the strictest (nothing inline, forms to 'self')
  std::string content_type = "text/html; charset=utf-8";
  // The one syslog line for this request's decision (main writes it).
  int log_priority = 6;                  // LOG_INFO
  std::string log_message;
  // The line is a sign-in decision this process made (issue 24.2): its
  // event. None for pages, and for decisions the broker made (its line is the event).
  std::optional<audit::Event> event;
  LogFormat log_format = LogFormat::text;
  // Where main counts the event (metrics.cgi_file, with metrics.enabled), and its token slot.
  std::string metrics_file;
  std::size_t profile_slot = 0;

  void header(std::string name, std::string value) { headers.emplace_back(std::move(name), std::move(value)); }
};

const char* reason_phrase(int status);

// base64 SHA-256 of an inline <style>/<script> body, as CSP's 'sha256-...'
// wants; the second form takes a digest made already (a fixed text's).
std::string csp_hash(std::string_view inline_text);
std::string csp_hash(const std::array<unsigned char, 32>& digest);

// default-src 'none'; inline style (and script, when given) only by hash;
// forms only to 'self' plus form_targets (origins); no framing, no <base>.
// data_images adds img-src data: (the configured logo, inlined).
std::string build_csp(std::string_view style_hash, std::string_view script_hash,
                      const std::vector<std::string>& form_targets, bool data_images = false);

// "Status:" line, Content-Type, Cache-Control: no-store, CSP,
// Referrer-Policy, X-Content-Type-Options, X-Frame-Options, extra headers,
// blank line, body.
std::string serialize(const Response& r);

// A header value must not carry CR/LF (response splitting); callers pass
// only values we built, this is the last line of defence.
bool is_safe_header_value(std::string_view v);

}  // namespace zsso::cgi
