// The HTML the CGI shows: plain, accessible, readable on a phone. Every value
// from outside is HTML-escaped here; callers pass raw text.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace zsso::cgi {

// Inline CSS and the auto-submit script; CSP allows exactly these by hash.
extern const std::string_view kPageStyle;
extern const std::string_view kAutoSubmitScript;

struct PageFrame {
  std::string_view site_name;
  std::string_view request_id;   // shown on error pages, matches the syslog line
};

struct LoginForm {
  std::string_view action;       // URL the form posts to (this login URL)
  std::string_view csrf_token;
  std::string_view return_to;    // already validated; "" = none
  std::string_view user;         // prefilled after a failed attempt
  std::string_view message;      // "" or one generic sentence
};

std::string login_form_page(const PageFrame& f, const LoginForm& form);

// A short page: heading, one paragraph, optional link, and the request id
// when with_request_id (every error page).
std::string message_page(const PageFrame& f, std::string_view title, std::string_view text,
                         std::string_view link_url = {}, std::string_view link_label = {},
                         bool with_request_id = true);

// What the logout error page says about the message Zendesk put in
// /logout?kind=error&message=...: advice of our own for the few messages
// Zendesk is known to send, else the message itself, as plain text framed as
// "Zendesk reported: \u201c...\u201d" (bidi, line separator and C1
// characters neutralised, at most kMaxZendeskMessageShown bytes; with a C0
// control or not UTF-8, not shown at all). Anyone can make that
// link, so the page never shows outside text as our own words.
inline constexpr std::size_t kMaxZendeskMessageShown = 200;
std::string zendesk_error_text(std::string_view message);

// Wraps core's jwt_post_form (already escaped) with the auto-submit script.
std::string delivery_page(const PageFrame& f, std::string_view post_form_html);

}  // namespace zsso::cgi
