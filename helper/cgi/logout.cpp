// SPDX-License-Identifier: BSD-3-Clause
// /logout[/PROFILE]: Zendesk's sign-out (every sign-in session of this
// browser ends), and Zendesk's report of a sign-in it refused (kind=error).
#include <syslog.h>

#include "handler.hpp"
#include "zendesk_errors.hpp"
#include "zsso/text.hpp"

namespace zsso::cgi {

Response Handler::logout() {
  auto query = parse_form(req_.query);
  if (!query) return bad_request("unparsable query string");
  hint_from_locale_id(*query);
  const std::string* kind = form_get(*query, "kind");
  if (kind && *kind == "error") {
    // Zendesk's words go to the log, mapped to a cause the admin can act on;
    // the user gets plain words and the cause's category, never the raw
    // message (it may be long, odd text, or meant for the admin).
    const std::string* message = form_get(*query, "message");
    const std::string_view raw = message ? std::string_view(*message) : std::string_view{};
    const ZendeskErrorCause cause = classify_zendesk_error(raw);
    const std::string text = std::string(t(N_("Zendesk refused the sign-in."))) + " " + std::string(t(cause.user_text));
    return page(200,
                {N_("Zendesk could not sign you in"), text,
                 N_("Try signing in again. If it happens again, contact your IT support and give them the request "
                    "id below; the cause is in the sign-in server's log."),
                 route_url("login"), N_("Try signing in again"), true},
                LOG_WARNING,
                "200 Zendesk reported a sign-in error: cause=" + std::string(cause.category) + " (" +
                    std::string(cause.admin_hint) + ") message=" +
                    (message ? quote_for_log(*message, 300) : std::string("(none)")));
  }
  if (!cfg_.helper.logout_redirect.empty()) {
    Response r;
    r.status = 302;
    r.header("Location", cfg_.helper.logout_redirect);
    r.body = message_page(frame(), t(N_("Signed out")), t(N_("You are signed out of Zendesk.")), {}, {}, false);
    r.content_security_policy = csp();
    r.log_message = "302 signed out, to logout_redirect";
    clear_sessions(r);
    return r;
  }
  Response r = page(200, {N_("Signed out"), N_("You are signed out of Zendesk."), {}, route_url("login"),
                          N_("Sign in again"), false},
                    LOG_INFO, "200 signed out");
  clear_sessions(r);
  return r;
}

}  // namespace zsso::cgi
