// SPDX-License-Identifier: BSD-3-Clause
// The "Security keys" page (issue 23, slice 4; docs/webauthn.md). GET /keys
// shows the sign-in form under its own heading; its POST is a sign-in through
// the broker with the enrol flag: the re-authentication (the password, what
// the stack asks, a key holder's key step) on pages posting back here. Its
// last step is the registration: the page calls
// navigator.credentials.create() (kEnrolScript) and posts the answer, with
// the invite code when one is needed, into the same conversation. The CGI
// checks nothing of the key and holds no credential; the broker decides.
#include <syslog.h>

#include "csrf.hpp"
#include "handler.hpp"
#include "zsso/base64url.hpp"
#include "zsso/broker_protocol.hpp"
#include "zsso/text.hpp"

namespace zsso::cgi {

namespace {

constexpr std::string_view kRegistrationFields[] = {"reg_client_data", "reg_attestation"};

// An invite code as a person types it: printable ASCII (the store ignores
// case, spaces and dashes).
bool is_invite_code(std::string_view code) {
  if (code.size() > broker::kMaxInviteCode) return false;
  for (char c : code)
    if (c < 0x20 || c >= 0x7f) return false;
  return true;
}

}  // namespace

// The browser's answer to a registration step, as key_answer: nothing when
// the form has none of its fields; an empty optional inside when a field is
// missing, repeated, empty or not base64url, or the invite code is not one.
std::optional<std::optional<broker::KeyRegistrationAnswer>> Handler::registration_answer(const FormFields& fields) {
  bool any = false;
  for (auto name : kRegistrationFields) any = any || form_count(fields, name) > 0;
  if (!any) return std::nullopt;
  broker::KeyRegistrationAnswer answer;
  std::string* parts[] = {&answer.client_data_json, &answer.attestation_object};
  for (std::size_t i = 0; i < 2; ++i) {
    const std::string* v =
        form_count(fields, kRegistrationFields[i]) == 1 ? form_get(fields, kRegistrationFields[i]) : nullptr;
    auto bytes = v && !v->empty() ? base64url_decode(*v) : std::nullopt;
    if (!bytes || bytes->empty()) return std::optional<broker::KeyRegistrationAnswer>{};
    *parts[i] = std::move(*bytes);
  }
  if (form_count(fields, "invite_code") > 1) return std::optional<broker::KeyRegistrationAnswer>{};
  if (const std::string* code = form_get(fields, "invite_code")) {
    const std::string_view typed = trim(*code);
    if (!is_invite_code(typed)) return std::optional<broker::KeyRegistrationAnswer>{};
    answer.invite_code = std::string(typed);
  }
  return answer;
}

Response Handler::keys_unavailable(std::string log) {
  return page(404,
              {N_("Security keys"), N_("Security keys cannot be added on this site."),
               N_("Ask your IT support how to add a security key."), {}, {}},
              LOG_NOTICE, std::move(log));
}

Response Handler::keys_get() {
  auto query = parse_form(req_.query);
  if (!query) return bad_request("unparsable query string");
  if (!cfg_.webauthn.enabled() || cfg_.broker.socket.empty())
    return keys_unavailable("404 keys page: needs webauthn.rp_id and the broker (broker.socket)");
  if (auto down = sign_in_down()) return server_error(503, "keys form not shown: " + *down);
  return login_form(200, {}, {}, {}, "200 keys form");
}

Response Handler::keys_post() {
  if (!cfg_.webauthn.enabled() || cfg_.broker.socket.empty())
    return keys_unavailable("404 keys post: needs webauthn.rp_id and the broker (broker.socket)");
  return login_post();
}

std::optional<Response> Handler::enrol_outcome(LoginOutcome& out, std::string_view return_to,
                                               const std::string& binding, const std::string& who) {
  if (out.status == LoginStatus::ok && !out.key_added)
    return server_error(500, "a token on the keys page " + who + ": " + out.detail);
  if (out.status == LoginStatus::ok) {
    Response r;
    r.status = 200;
    r.body = key_added_page(frame(), out.keys, form_url(), key_removal_sent_);
    r.content_security_policy = csp();
    r.header("Set-Cookie", csrf_cookie("", 0));
    r.header("Set-Cookie", conversation_cookie("", 0));
    r.log_priority = LOG_INFO;
    r.log_message = std::string(key_removal_sent_ ? "200 security key removed " : "200 security key added ") + who +
                    ": " + out.detail;
    return r;
  }
  if (out.status != LoginStatus::prompt || !out.registration.present()) return std::nullopt;
  auto token = new_csrf_token();
  if (!token) return server_error(500, "CSRF token: " + token.error());
  const std::string action = form_url();
  const std::string conversation = hex_lower(out.conversation);
  Response r;
  r.status = 200;
  r.body = enrol_page(frame(), {action, *token, return_to, conversation, out.step, out.registration, out.keys,
                                out.messages, action, !cfg_.webauthn.aaguids.empty(), cfg_.webauthn.passwordless});
  r.content_security_policy = csp(csp_hash(kEnrolScriptSha256));
  r.header("Set-Cookie", csrf_cookie(*token, kCsrfLifetimeSeconds));
  r.header("Set-Cookie", conversation_cookie(binding, cfg_.broker.sign_in_deadline));
  r.log_priority = LOG_INFO;
  r.log_message = "200 asked for a new security key " + who + ": " + out.detail +
                  " conversation=" + broker::conversation_tag(out.conversation) + " step=" + std::to_string(out.step);
  return r;
}

}  // namespace zsso::cgi
