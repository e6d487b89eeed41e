// SPDX-License-Identifier: BSD-3-Clause
// One request's handler, private to the CGI: the state every route shares
// (config, language, the page frame, the log line) and the routes' methods,
// each defined in the file of its job:
//
//   routes.cpp         dispatch: method and body checks, config, address check, which route
//   handler.cpp        what every route shares: config, language, look, message and error pages
//   cookies.cpp        the sign-in pages' cookies (CSRF token, conversation binding)
//   sign_in_form.cpp   the form: GET /login (which way signs in), POST /login (CSRF, password)
//   remote_user.cpp    sign-in by the web server's own authentication (REMOTE_USER)
//   passkey.cpp        sign-in with a passkey: the form's button, no name or password (webauthn.passwordless)
//   sessions.cpp       sign-in sessions: a token without the form, the session cookie
//   conversation.cpp   the later steps of a multi-step sign-in (OTP, password change …)
//   keys.cpp           /keys: the "Security keys" page, enrolling a key after a fresh sign-in
//   sign_in_outcome.cpp  what a sign-in's result shows: the token to Zendesk, or why not
//   logout.cpp         /logout: sign-out and Zendesk's error reports
//   health.cpp         /health for load balancers
//
// A new route or a new way to sign in gets a file of its own and a group of
// declarations below; routes.cpp only learns to send requests there.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "i18n.hpp"
#include "login.hpp"
#include "pages.hpp"
#include "request.hpp"
#include "response.hpp"
#include "routes.hpp"
#include "zsso/config.hpp"
#include "zsso/result.hpp"
#include "zsso/url.hpp"

namespace zsso::cgi {

inline constexpr std::string_view kDefaultSiteName = "Zendesk sign-in";
// Longer user names (typed, or REMOTE_USER) fail like wrong ones, without PAM.
inline constexpr std::size_t kMaxUser = 256;

// A profile's name in a path or cookie name: letters, digits, '-', '_', at most 64.
bool is_profile_name(std::string_view n);

class Handler {
 public:
  Handler(Request& req, const Environment& env) : req_(req), env_(env) {}

  Response handle() { return finish(run()); }

 private:
  Request& req_;
  const Environment& env_;
  Route route_;
  Config cfg_;
  std::string site_name_ = std::string(kDefaultSiteName);
  std::string client_;      // resolved client address, for PAM_RHOST and logs
  bool https_ = false;      // served over HTTPS, here or at a trusted TLS-terminating proxy
  std::string notes_;       // extra facts for the log line (dropped return_to, override in use)

  // The page's language, resolved on first use (after the config when it
  // loaded): lang_hint_ (Zendesk's locale_id, or the form's lang), then
  // Accept-Language, then helper.default_language.
  std::string lang_hint_;
  bool lang_ready_ = false;
  Language lang_;
  bool brand_ready_ = false;
  std::string style_ = std::string(kPageStyle);
  std::string logo_;
  bool config_tried_ = false;
  std::optional<audit::Event> event_;   // set by decided(); finish() completes it

  // ---- the audit event, when this process decided a sign-in (not the broker)
  void decided(audit::Way way, audit::Outcome outcome, std::string_view user, std::string cause);
  // outcome_page's: the event for an outcome the broker did not answer.
  void decided(audit::Way way, const LoginOutcome& out, std::string_view user);

  // ---- routes.cpp: dispatch
  Response run();
  Response base_redirect();
  Response method_not_allowed(std::string log, std::string_view allow);

  // ---- handler.cpp: shared by every route
  const Language& lang();
  std::string_view t(std::string_view msgid) { return tr(lang(), msgid); }
  void ensure_brand();
  PageFrame frame();
  // The CSP for a page built with frame(): the style it carries, by hash.
  std::string csp(std::string_view script_hash = {}, const std::vector<std::string>& form_targets = {});
  std::string route_url(std::string_view what) const;
  // Where this route's forms post: /keys on the "Security keys" page, else /login.
  std::string form_url() const { return route_url(enrolling() ? "keys" : "login"); }
  bool enrolling() const { return route_.kind == Route::Kind::keys; }
  bool served_over_https() const;
  void note(std::string_view s);
  void hint_from_locale_id(const FormFields& fields);
  Result<void> load_config();
  void config_for_page();
  std::string checked_return_to(const std::string* raw);
  // The older call shape (title, text, … as msgids), kept so callers
  // written against it still build; new code passes a Message with a next step.
  Response page(int status, std::string_view title, std::string_view text, int prio, std::string log,
                std::string_view link_url = {}, std::string_view link_label = {}, bool show_request_id = false);
  // A message page; m's texts are msgids (N_), translated here.
  Response page(int status, Message m, int prio, std::string log);
  Response finish(Response r);
  Response not_found();
  Response bad_request(std::string why);
  Response server_error(int status, std::string why);
  Response refused(std::string_view text, std::string log);
  Response outside_ranges(std::string log);

  // ---- cookies.cpp: the sign-in pages' cookies (one shape, by https_)
  std::string form_cookie_name(std::string_view base) const;
  std::string form_cookie(std::string_view base, std::string_view value, std::int64_t max_age) const;
  std::string csrf_cookie_name() const;
  std::string csrf_cookie(std::string_view value, std::int64_t max_age) const;
  std::string conversation_cookie_name() const;
  std::string conversation_cookie(std::string_view value, std::int64_t max_age) const;

  // ---- sign_in_form.cpp
  Response login_get();
  Response login_post();
  Response login_form(int status, std::string_view return_to, std::string_view user, std::string_view message,
                      std::string log);

  // ---- remote_user.cpp
  bool web_server_signed_in();
  Response remote_user_sign_in(std::string_view return_to);

  // ---- passkey.cpp (issue 23 slice 5)
  // The sign-in form offers "Sign in with a passkey": webauthn.passwordless on, broker mode, not /keys.
  bool passkey_offered() const;
  Response passkey_sign_in(const FormFields& fields, std::string_view return_to, std::string_view again);
  bool passkey_ = false;   // this request started a passkey sign-in (its key page, its log line)

  // ---- sessions.cpp (issue 13)
  bool sessions_on() const { return cfg_.session.enabled(); }
  std::string session_cookie(std::string_view value, std::int64_t max_age) const;
  std::optional<std::string_view> session_cookie_sent() const;
  std::optional<Response> session_sign_in(std::string_view return_to);
  // Why no sign-in can succeed now (broker down, secret unusable), for the log; nothing when it can.
  std::optional<std::string> sign_in_down();
  void set_session(Response& r, const LoginOutcome& out, std::string_view user);
  void clear_sessions(Response& r) const;

  // ---- conversation.cpp
  std::optional<std::optional<broker::KeyAssertion>> key_answer(const FormFields& fields);
  std::optional<std::optional<broker::KeyRegistrationAnswer>> registration_answer(const FormFields& fields);
  Response next_step(const FormFields& fields, std::string_view return_to, const std::string& claimed);
  Response prompt(const LoginOutcome& out, std::string_view return_to, const std::string& binding, std::string log);
  Response start_again(std::string_view return_to, std::string log);

  // ---- keys.cpp: GET and POST /keys, the registration step and its end
  Response keys_get();
  Response keys_post();
  Response keys_unavailable(std::string log);
  // outcome_page's answer on the keys route: the registration step, the key added, or why not.
  std::optional<Response> enrol_outcome(LoginOutcome& out, std::string_view return_to, const std::string& binding,
                                        const std::string& who);
  bool key_removal_sent_ = false;   // this post asked the broker to remove a key (the answer's page says so)

  // ---- sign_in_outcome.cpp
  Response attempt(LoginRequest& lr, std::string_view return_to);
  Response outcome_page(LoginOutcome& out, std::string_view user, bool remote_user, std::string_view return_to,
                        const std::string& binding, std::string log_prefix);
  Response deliver(const std::string& token, std::string_view return_to, std::string log,
                   const std::vector<broker::Message>& messages = {});

  // ---- logout.cpp
  Response logout();

  // ---- health.cpp
  Response health();
  Response health_answer(int status, std::string log);
  // ---- metrics_route.cpp: GET /metrics, Prometheus' text format
  Response metrics();
};

}  // namespace zsso::cgi
