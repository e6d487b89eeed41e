// SPDX-License-Identifier: BSD-3-Clause
// What Zendesk's error messages on the logout URL (kind=error&message=…)
// mean for the admin (issue 18.8). The user is shown a plain text and the
// category's short description, never Zendesk's own words; the log line
// carries the category, the admin's hint and the quoted message.
#pragma once

#include <string_view>

namespace zsso::cgi {

struct ZendeskErrorCause {
  std::string_view category;    // for the log: clock-skew, wrong-secret, bad-claims, replay, account, unknown
  std::string_view user_text;   // msgid: what the user is told the cause is (translated by the page)
  std::string_view admin_hint;  // English, for the log line: what to check
};

ZendeskErrorCause classify_zendesk_error(std::string_view message);

}  // namespace zsso::cgi
