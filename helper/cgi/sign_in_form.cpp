// SPDX-License-Identifier: BSD-3-Clause
// The sign-in form. GET /login picks the way this browser signs in (the web
// server's own authentication, a sign-in session, else the form); POST
// /login passes the cross-site and CSRF checks before anything reaches PAM,
// then is a password sign-in, a passkey sign-in or a multi-step sign-in's
// next step.
#include <syslog.h>

#include "csrf.hpp"
#include "handler.hpp"
#include "zsso/account.hpp"
#include "zsso/secret.hpp"
#include "zsso/text.hpp"

namespace zsso::cgi {

namespace {

constexpr std::size_t kMaxPassword = 1024;

// Wipes form values (the password among them) when the request is done.
struct FieldWiper {
  FormFields& fields;
  ~FieldWiper() {
    for (auto& [k, v] : fields) secure_wipe(v.data(), v.size());
  }
};

}  // namespace

Response Handler::login_get() {
  auto query = parse_form(req_.query);
  if (!query) return bad_request("unparsable query string");
  if (form_count(*query, "return_to") > 1) return bad_request("repeated return_to");
  hint_from_locale_id(*query);
  const std::string return_to = checked_return_to(form_get(*query, "return_to"));
  if (web_server_signed_in()) return remote_user_sign_in(return_to);
  if (auto r = session_sign_in(return_to)) return std::move(*r);
  if (auto down = sign_in_down()) return server_error(503, "sign-in form not shown: " + *down);
  return login_form(200, return_to, {}, {}, "200 form");
}

// Nobody should type a password (and use up a code) for a sign-in that
// cannot end in a token: the broker's ping (peer, config, secret; it never
// holds a sign-in), or in direct mode the secret this process signs with.
std::optional<std::string> Handler::sign_in_down() {
  if (!cfg_.broker.socket.empty()) {
    if (auto pong = broker_ping(cfg_); !pong) return pong.error();
    return std::nullopt;
  }
  if (auto secret = load_secret_file(cfg_.zendesk.secret_file); !secret) return "zendesk.secret_file: " + secret.error();
  return std::nullopt;
}

Response Handler::login_form(int status, std::string_view return_to, std::string_view user,
                             std::string_view message, std::string log) {
  auto token = new_csrf_token();
  if (!token) return server_error(500, "CSRF token: " + token.error());
  const std::string action = form_url();
  Response r;
  r.status = status;
  LoginForm form{action, *token, return_to, user, t(message)};
  form.passkey = passkey_offered();
  if (enrolling()) {
    form.heading = t(N_("Security keys"));
    form.intro = t(N_("Sign in again to add a security key to your account."));
  }
  r.body = login_form_page(frame(), form);
  r.content_security_policy = csp();
  r.header("Set-Cookie", csrf_cookie(*token, kCsrfLifetimeSeconds));
  r.log_priority = status == 200 ? LOG_INFO : LOG_NOTICE;
  r.log_message = std::move(log);
  return r;
}

Response Handler::login_post() {
  auto fields = parse_form(req_.body_view());
  secure_wipe(req_.body.data(), req_.body.size());
  if (!fields) return bad_request("unparsable form body");
  FieldWiper wiper{*fields};
  for (auto key : {"user", "password", "csrf", "return_to", "conversation", "step", "lang", "passkey"})
    if (form_count(*fields, key) > 1) return bad_request(std::string("repeated form field ") + key);
  // The language the form was shown in (it answers in the same one).
  if (const std::string* l = form_get(*fields, "lang"); l && is_language_tag(*l)) lang_hint_ = *l;
  const std::string return_to = checked_return_to(form_get(*fields, "return_to"));
  std::string again = form_url();
  if (!return_to.empty()) again += "?return_to=" + percent_encode(return_to);
  const Message expired{N_("Form expired"), N_("This sign-in form has expired or did not come from this site."),
                        N_("Open the sign-in form again and sign in within 10 minutes. If this keeps happening, make "
                           "sure your browser accepts cookies from this site."),
                        again, N_("Open the sign-in form")};
  // What the browser says about where the form came from, before anything else.
  const std::string* user = form_get(*fields, "user");
  const std::string_view claimed_user = user ? std::string_view(*user) : std::string_view{};
  const audit::Way way = form_get(*fields, "passkey")        ? audit::Way::key
                         : form_get(*fields, "conversation") ? audit::Way::multi_step
                                                             : audit::Way::password;
  if (std::string why = cross_site_refusal(req_.sec_fetch_site, req_.origin, own_origin(req_, https_)); !why.empty()) {
    decided(way, audit::Outcome::csrf, claimed_user, "cross-site form refused: " + why);
    return page(403, expired, LOG_NOTICE, "403 cross-site form refused: " + why);
  }
  // Adding a key takes the password again, whoever the web server says this is.
  if (!enrolling() && web_server_signed_in()) return remote_user_sign_in(return_to);

  // CSRF before anything touches PAM.
  const std::string* csrf = form_get(*fields, "csrf");
  CsrfCheck c = check_csrf(cookie_values(req_.cookie, csrf_cookie_name()), csrf ? *csrf : std::string_view{});
  // Who the form claimed to be, for the log: an unknown name only by its
  // length (it may be a password typed into the wrong field).
  const std::string claimed = user && !trim(*user).empty() ? " user=" + user_for_log(trim(*user)) : "";
  if (c != CsrfCheck::ok) {
    decided(way, audit::Outcome::csrf, claimed_user, std::string("CSRF token ") + to_string(c));
    return page(403, expired, LOG_NOTICE, std::string("403 CSRF token ") + to_string(c) + claimed);
  }
  // The form's "Sign in with a passkey" button (passkey.cpp).
  if (form_get(*fields, "passkey")) return passkey_sign_in(*fields, return_to, again);
  // The next step of a multi-step sign-in (conversation.cpp).
  if (form_get(*fields, "conversation")) return next_step(*fields, return_to, claimed);

  const std::string* password = form_get(*fields, "password");
  if (!user || !password || trim(*user).empty() || password->empty()) {
    decided(way, audit::Outcome::bad_login, claimed_user, "empty user name or password");
    return login_form(401, return_to, user ? std::string_view(*user) : std::string_view{},
                      N_("Enter your user name and password."), "401 empty user name or password" + claimed);
  }
  // Unusable names and passwords fail like wrong ones, without PAM.
  if (user->size() > kMaxUser || has_control_chars(*user) || !is_valid_utf8(*user)) {
    decided(way, audit::Outcome::bad_login, *user, "unusable user name");
    return login_form(401, return_to, {}, N_("The user name or password is incorrect."),
                      "401 unusable user name " + user_for_log(*user));
  }
  if (password->size() > kMaxPassword || password->find('\0') != std::string::npos) {
    decided(way, audit::Outcome::bad_login, *user, "unusable password");
    return login_form(401, return_to, *user, N_("The user name or password is incorrect."),
                      "401 unusable password user=" + user_for_log(*user));
  }

  LoginRequest lr;
  lr.user = std::string(trim(*user));
  lr.password.assign(password->begin(), password->end());
  lr.account_check_only = enrolling();   // the "Security keys" page: a key registration, no token
  return attempt(lr, return_to);
}

}  // namespace zsso::cgi
