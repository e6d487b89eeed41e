// SPDX-License-Identifier: BSD-3-Clause
// The later steps of a multi-step sign-in (an OTP code, a new password …):
// the broker holds the PAM conversation, bound to a cookie of this browser's;
// the page carries the conversation id and the step. A security key step
// (issue 23) is a page of its own (key_page) whose answer goes on as it came.
#include <syslog.h>

#include <algorithm>

#include "csrf.hpp"
#include "handler.hpp"
#include "zsso/base64url.hpp"
#include "zsso/broker_protocol.hpp"
#include "zsso/text.hpp"

namespace zsso::cgi {

namespace {

constexpr std::string_view kKeyFields[] = {"key_id", "key_client_data", "key_authenticator_data", "key_signature"};
// A discoverable key's userHandle (passkeys, slice 5), posted only when the
// authenticator returned one: empty or absent is none.
constexpr std::string_view kKeyUserHandle = "key_user_handle";

}  // namespace

// The browser's answer to a key step (key_page's script), base64url as it
// posted it: nothing when the form has none of its fields; an empty
// optional inside when a field is missing, repeated, empty or not base64url,
// or the optional userHandle is repeated, not base64url or longer than
// WebAuthn allows. The broker checks the bytes (and their sizes, on the wire).
std::optional<std::optional<broker::KeyAssertion>> Handler::key_answer(const FormFields& fields) {
  bool any = false;
  for (auto name : kKeyFields) any = any || form_count(fields, name) > 0;
  if (!any) return std::nullopt;
  std::string raw[4];
  for (std::size_t i = 0; i < 4; ++i) {
    const std::string* v = form_count(fields, kKeyFields[i]) == 1 ? form_get(fields, kKeyFields[i]) : nullptr;
    auto bytes = v && !v->empty() ? base64url_decode(*v) : std::nullopt;
    if (!bytes || bytes->empty()) return std::optional<broker::KeyAssertion>{};
    raw[i] = std::move(*bytes);
  }
  std::string handle;
  if (form_count(fields, kKeyUserHandle) > 1) return std::optional<broker::KeyAssertion>{};
  if (const std::string* v = form_get(fields, kKeyUserHandle); v && !v->empty()) {
    auto bytes = base64url_decode(*v);
    if (!bytes || bytes->empty() || bytes->size() > broker::kMaxUserHandle) return std::optional<broker::KeyAssertion>{};
    handle = std::move(*bytes);
  }
  return broker::KeyAssertion{std::move(raw[0]), std::move(raw[1]), std::move(raw[2]), std::move(raw[3]),
                              std::move(handle)};
}

Response Handler::prompt(const LoginOutcome& out, std::string_view return_to, const std::string& binding,
                         std::string log) {
  auto token = new_csrf_token();
  if (!token) return server_error(500, "CSRF token: " + token.error());
  const std::string action = form_url();
  std::string again = action;
  if (!return_to.empty()) again += "?return_to=" + percent_encode(return_to);
  const std::string conversation = hex_lower(out.conversation);
  Response r;
  r.status = 200;
  if (out.key.present()) {
    // A security key step (issue 23): the page's script asks the browser; nothing is checked here.
    r.body = key_page(frame(), {action, *token, return_to, conversation, out.step, out.key, out.messages, again, passkey_});
    r.content_security_policy = csp(csp_hash(kKeyScriptSha256));
  } else {
    r.body = prompt_page(frame(), {action, *token, return_to, conversation, out.step, out.messages, again});
    r.content_security_policy = csp();
  }
  r.header("Set-Cookie", csrf_cookie(*token, kCsrfLifetimeSeconds));
  r.header("Set-Cookie", conversation_cookie(binding, cfg_.broker.sign_in_deadline));
  r.log_priority = LOG_INFO;
  r.log_message = std::move(log) + " conversation=" + broker::conversation_tag(out.conversation) +
                  " step=" + std::to_string(out.step);
  return r;
}

Response Handler::start_again(std::string_view return_to, std::string log) {
  std::string again = form_url();
  if (!return_to.empty()) again += "?return_to=" + percent_encode(return_to);
  Response r = page(410, N_("Sign-in expired"),
                    N_("This sign-in took too long or has already ended. Start again from the sign-in form."), LOG_NOTICE,
                    std::move(log), again, N_("Start again"));
  r.header("Set-Cookie", conversation_cookie("", 0));
  return r;
}

Response Handler::next_step(const FormFields& fields, std::string_view return_to, const std::string& claimed) {
  const std::string* conv_hex = form_get(fields, "conversation");
  const std::string* step_text = form_get(fields, "step");
  auto id = conv_hex ? broker::conversation_from_hex(*conv_hex) : std::nullopt;
  int step = 0;
  if (step_text && !step_text->empty() && step_text->size() <= 3 &&
      std::all_of(step_text->begin(), step_text->end(), [](char c) { return c >= '0' && c <= '9'; }))
    step = std::stoi(*step_text);
  if (!id || step < 1 || step > 255) return bad_request("malformed conversation or step field" + claimed);
  const std::string tag = " conversation=" + broker::conversation_tag(*id) + " step=" + std::to_string(step);
  if (cfg_.broker.socket.empty())
    return start_again(return_to, "410 continue request in direct mode (no broker holds conversations)" + tag);
  auto bindings = cookie_values(req_.cookie, conversation_cookie_name());
  if (bindings.size() != 1 || bindings.front().empty() || bindings.front().size() > broker::kMaxBinding)
    return start_again(return_to, "410 continue request without this browser's conversation cookie" + tag);

  ContinueRequest cr;
  cr.conversation = *id;
  cr.binding = std::string(bindings.front());
  cr.step = static_cast<std::uint8_t>(step);
  cr.client_address = client_;
  cr.request_id = env_.request_id;
  if (form_count(fields, "remove_key") > 0) {
    const std::string* id = form_count(fields, "remove_key") == 1 ? form_get(fields, "remove_key") : nullptr;
    if (!id || id->empty() || id->size() > broker::kMaxKeyIdText || has_control_chars(*id) || !is_valid_utf8(*id))
      return bad_request("malformed security key removal" + tag);
    cr.key_removal = *id;
    key_removal_sent_ = true;
    LoginOutcome out = broker_continue(cfg_, cr);
    return outcome_page(out, "", false, return_to, cr.binding, tag);
  }
  if (auto reg = registration_answer(fields)) {
    if (!*reg) return bad_request("malformed security key registration" + tag);
    cr.registration = std::move(**reg);
    LoginOutcome out = broker_continue(cfg_, cr);
    return outcome_page(out, "", false, return_to, cr.binding, tag);
  }
  if (auto key = key_answer(fields)) {
    if (!*key) return bad_request("malformed security key answer" + tag);
    cr.key = std::move(**key);
    LoginOutcome out = broker_continue(cfg_, cr);
    return outcome_page(out, "", false, return_to, cr.binding, tag);
  }
  for (std::size_t k = 0; k < broker::kMaxAnswers; ++k) {
    const std::string name = "answer" + std::to_string(k);
    if (form_count(fields, name) > 1) return bad_request("repeated form field " + name);
    const std::string* a = form_get(fields, name);
    if (!a) break;
    cr.answers.emplace_back(a->begin(), a->end());
  }
  if (cr.answers.empty()) return bad_request("continue request without answers" + tag);
  LoginOutcome out = broker_continue(cfg_, cr);
  return outcome_page(out, "", false, return_to, cr.binding, tag);
}

}  // namespace zsso::cgi
