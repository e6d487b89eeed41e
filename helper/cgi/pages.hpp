// SPDX-License-Identifier: BSD-3-Clause
// The HTML the CGI shows: plain, accessible, readable on a phone. Every value
// from outside is HTML-escaped here; callers pass raw text.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "zsso/broker_protocol.hpp"

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

// One step of a multi-step sign-in: what PAM said, then one input per
// prompt (answer0, answer1, ...) labelled with the module's own text.
struct PromptForm {
  std::string_view action;
  std::string_view csrf_token;
  std::string_view return_to;
  std::string_view conversation;  // the id in hex
  std::uint8_t step = 0;
  const std::vector<broker::Message>& messages;
  std::string_view start_again_url;
};

std::string prompt_page(const PageFrame& f, const PromptForm& form);

// A short page: heading, one paragraph, optional link, and the request id
// when with_request_id (every error page).
std::string message_page(const PageFrame& f, std::string_view title, std::string_view text,
                         std::string_view link_url = {}, std::string_view link_label = {},
                         bool with_request_id = true);

// Wraps core's jwt_post_form (already escaped) with the auto-submit script;
// with messages from PAM, shows them and waits for the button instead.
std::string delivery_page(const PageFrame& f, std::string_view post_form_html,
                          const std::vector<broker::Message>& messages = {});

}  // namespace zsso::cgi
