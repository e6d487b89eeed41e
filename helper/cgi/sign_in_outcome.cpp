// SPDX-License-Identifier: BSD-3-Clause
// What a sign-in's result shows, whichever way it came (form, REMOTE_USER,
// a conversation step, a session): the token delivered to Zendesk, the
// next prompt, or the page that says why not.
#include <syslog.h>

#include <cerrno>

#include "handler.hpp"
#include "zsso/account.hpp"
#include "zsso/random.hpp"
#include "zsso/text.hpp"
#include "zsso/url.hpp"
#include "zsso/zendesk.hpp"

namespace zsso::cgi {

namespace {

// 128 bits from the kernel's CSPRNG, in hex (getrandom: no OpenSSL start-up for 16 bytes).
Result<std::string> random_hex() {
  unsigned char raw[16];
  if (!random_bytes(raw, sizeof raw)) return Error{"getrandom: " + errno_text(errno)};
  return hex_lower(raw);
}

}  // namespace

Response Handler::attempt(LoginRequest& lr, std::string_view return_to) {
  lr.client_address = client_;
  lr.profile = route_.profile;
  lr.request_id = env_.request_id;
  std::string binding;
  if (!cfg_.broker.socket.empty()) {
    auto b = random_hex();
    if (!b) return server_error(500, b.error());
    binding = lr.binding = *b;
  }
  LoginOutcome out = sign_in(cfg_, lr);
  return outcome_page(out, lr.user, lr.password_checked_by_web_server, return_to, binding, "");
}

Response Handler::outcome_page(LoginOutcome& out, std::string_view user, bool remote_user,
                               std::string_view return_to, const std::string& binding, std::string step) {
  // Later steps come without a user name (the broker child knows it; its line names it).
  const std::string who = (user.empty() ? std::string("user=-") : "user=" + user_for_log(user)) +
                          (passkey_ ? " passkey" : "") + step;
  // The account a later step was for: the broker's last answer names it (issue 25.2).
  const std::string_view account = user.empty() ? std::string_view(out.user) : user;
  decided(passkey_          ? audit::Way::key
          : !step.empty()   ? audit::Way::multi_step
          : remote_user     ? audit::Way::remote_user
                            : audit::Way::password,
          out, account);
  // After a further prompt the refusal names what the stack asked (issue 25.10).
  const std::string_view incorrect = step.empty() ? N_("The user name or password is incorrect.")
                                                  : N_("The user name, password or code is incorrect.");
  // An enrolment's registration step and its end belong to the keys route, nowhere else.
  if (enrolling()) {
    if (auto r = enrol_outcome(out, return_to, binding, who)) return std::move(*r);
  } else if (out.key_added || out.registration.present()) {
    return server_error(500, "an enrolment's answer on the sign-in route " + who + ": " + out.detail);
  }
  switch (out.status) {
    case LoginStatus::ok: {
      Response r = deliver(out.token, return_to, "200 signed in " + who, out.messages);
      set_session(r, out, user);
      return r;
    }
    case LoginStatus::prompt:
      return prompt(out, return_to, binding, "200 asked " + who + ": " + out.detail);
    case LoginStatus::bad_login:
      if (remote_user)
        return refused(N_("This account may not sign in to Zendesk."), "403 REMOTE_USER refused " + who + ": " + out.detail);
      return login_form(401, return_to, account, incorrect, "401 bad login " + who + ": " + out.detail);
    case LoginStatus::not_allowed:
      if (remote_user)
        return refused(N_("This account may not sign in to Zendesk from here."), "403 not allowed " + who + ": " + out.detail);
      return login_form(403, return_to, account, N_("This account may not sign in to Zendesk from here."),
                        "403 not allowed " + who + ": " + out.detail);
    case LoginStatus::password_expired: {
      // Not changed here (broker.change_expired_passwords off, or the change
      // failed): say so, and who helps — never "may not sign in", which
      // blames an account that is fine.
      if (cfg_.helper.password_change_url.empty()) {
        const bool help = !cfg_.helper.help_contact.empty() || !cfg_.helper.help_url.empty();
        return page(403,
                    Message{N_("Password expired"),
                            N_("Your password has expired and must be changed before you can sign in."),
                            help ? N_("The contact below can help you.") : N_("Ask your IT support how to change it."),
                            route_url("login"), N_("Sign in again")},
                    LOG_NOTICE, "403 password expired " + who + ", told to change it elsewhere: " + out.detail);
      }
      // The admin's own password-change page; %u is the user, URL-encoded.
      std::string url;
      for (std::size_t i = 0; i < cfg_.helper.password_change_url.size(); ++i) {
        const char c = cfg_.helper.password_change_url[i];
        if (c == '%' && i + 1 < cfg_.helper.password_change_url.size() && cfg_.helper.password_change_url[i + 1] == 'u') {
          url += percent_encode(account);
          ++i;
        } else {
          url += c;
        }
      }
      Response r = page(302, N_("Password expired"), N_("Your password has expired. Continue to change it."), LOG_NOTICE,
                        "302 password expired " + who + ", sent to helper.password_change_url: " + out.detail, url,
                        N_("Change your password"));
      r.header("Location", url);
      return r;
    }
    case LoginStatus::gone:
      return start_again(return_to, "410 conversation over " + who + ": " + out.detail);
    case LoginStatus::busy: {
      Response r = page(503, N_("Too many sign-ins"), N_("Too many people are signing in right now. Wait a minute and try again."),
                        LOG_WARNING, "503 busy " + who + ": " + out.detail, form_url(), N_("Try again"));
      r.header("Retry-After", "30");
      return r;
    }
    case LoginStatus::limited: {
      // One address or account at its share of the broker (issue 22.1): refused at once, nothing counted.
      Response r = page(429, N_("Too many sign-ins from here"),
                        N_("Other sign-ins from your network or for your account are still waiting for an answer. "
                           "Finish or close them, or wait a few minutes, and try again."),
                        LOG_WARNING, "429 limited " + who + ": " + out.detail, form_url(), N_("Try again"));
      r.header("Retry-After", "60");
      return r;
    }
    case LoginStatus::unavailable:
      return server_error(503, "sign-in unavailable " + who + ": " + out.detail);
    case LoginStatus::error:
      break;
  }
  return server_error(500, "sign-in error " + who + ": " + out.detail);
}

Response Handler::deliver(const std::string& token, std::string_view return_to, std::string log,
                          const std::vector<broker::Message>& messages) {
  Response r;
  r.log_priority = LOG_INFO;
  r.log_message = std::move(log);
  // The form token and any conversation cookie have done their job.
  r.header("Set-Cookie", csrf_cookie("", 0));
  if (!cookie_values(req_.cookie, conversation_cookie_name()).empty())
    r.header("Set-Cookie", conversation_cookie("", 0));
  if (cfg_.zendesk.delivery == Delivery::get) {
    r.status = 302;
    r.header("Location", jwt_get_url(cfg_.zendesk, token, return_to));
    r.body = message_page(frame(), t("Signing in"), t("Continue to Zendesk."), {}, {}, false);
    r.content_security_policy = csp();
    r.log_message += " delivery=get";
    return r;
  }
  // form-action must allow the endpoint's origin (scheme://host[:port]).
  const std::string endpoint = jwt_endpoint(cfg_.zendesk);
  const std::string origin = endpoint.substr(0, endpoint.find('/', endpoint.find("//") + 2));
  r.status = 200;
  r.body = delivery_page(frame(), jwt_post_form(cfg_.zendesk, token, return_to, "zendesk-sso", t("Continue to Zendesk")),
                         messages);
  r.content_security_policy = csp(messages.empty() ? csp_hash(kAutoSubmitScriptSha256) : std::string(), {origin});
  r.log_message += " delivery=post";
  return r;
}

}  // namespace zsso::cgi
