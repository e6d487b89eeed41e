// SPDX-License-Identifier: BSD-3-Clause
#include "routes.hpp"

#include <syslog.h>

#include <algorithm>

#include "branding.hpp"
#include "client_address.hpp"
#include "csrf.hpp"
#include "i18n.hpp"
#include "login.hpp"
#include "pages.hpp"
#include "zsso/account.hpp"
#include "zsso/files.hpp"
#include "zsso/policy.hpp"
#include "zsso/random.hpp"
#include "zsso/session_cookie.hpp"
#include "zsso/text.hpp"
#include "zsso/url.hpp"
#include "zsso/zendesk.hpp"
#include "zendesk_errors.hpp"

namespace zsso::cgi {

namespace {

constexpr std::string_view kDefaultSiteName = "Zendesk sign-in";
constexpr std::size_t kMaxUser = 256;
constexpr std::size_t kMaxPassword = 1024;

bool is_profile_name(std::string_view n) {
  if (n.empty() || n.size() > 64) return false;
  return std::all_of(n.begin(), n.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
  });
}

// 128 bits from the kernel's CSPRNG, in hex (getrandom: no OpenSSL start-up for 16 bytes).
Result<std::string> random_hex() {
  unsigned char raw[16];
  if (!random_bytes(raw, sizeof raw)) return Error{"getrandom: " + errno_text(errno)};
  return hex_lower(raw);
}

// Wipes form values (the password among them) when the request is done.
struct FieldWiper {
  FormFields& fields;
  ~FieldWiper() {
    for (auto& [k, v] : fields) secure_wipe(v.data(), v.size());
  }
};

// Per-request state shared by the handlers below.
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

  const Language& lang() {
    if (!lang_ready_) {
      lang_ready_ = true;
      std::vector<std::string> candidates;
      if (!lang_hint_.empty()) candidates.push_back(lang_hint_);
      for (auto& t : accept_language_tags(req_.accept_language)) candidates.push_back(std::move(t));
      candidates.push_back(cfg_.helper.default_language);
      LocaleSearch where = locale_search(cfg_.helper.locale_dir);
      lang_ = choose_language(candidates, where);
      if (!where.problems.empty()) note(where.problems);
    }
    return lang_;
  }
  std::string_view t(std::string_view msgid) { return tr(lang(), msgid); }
  void ensure_brand() {
    if (brand_ready_) return;
    brand_ready_ = true;
    style_ = page_style(cfg_.helper.primary_color);
    if (!cfg_.helper.logo_file.empty()) {
      if (auto logo = logo_data_url(cfg_.helper.logo_file)) logo_ = std::move(*logo);
      else note("logo not shown: " + logo.error());
    }
  }
  PageFrame frame() {
    ensure_brand();
    const HelperConfig& h = cfg_.helper;
    return {site_name_, env_.request_id, &lang(), style_, {h.help_contact, h.help_url, logo_, h.banner}};
  }
  // The CSP for a page built with frame(): the style it carries, by hash.
  std::string csp(std::string_view script_hash = {}, const std::vector<std::string>& form_targets = {}) {
    ensure_brand();
    // Unbranded (no primary_color), the style is the fixed text whose digest the compiler made.
    const std::string style_hash = style_ == kPageStyle ? csp_hash(kPageStyleSha256) : csp_hash(style_);
    return build_csp(style_hash, script_hash, form_targets, !logo_.empty());
  }
  std::string route_url(std::string_view what) const {
    std::string u = req_.script_name + "/" + std::string(what);
    if (!route_.profile.empty()) u += "/" + route_.profile;
    return u;
  }
  // Over HTTPS the CSRF cookie has the "__Host-" prefix: browsers then keep
  // it only with Secure, Path=/ and no Domain, so no plain-HTTP page and no
  // sibling subdomain can plant or overwrite it (what makes the unsigned
  // double submit sound; csrf.hpp).
  std::string csrf_cookie_name() const {
    std::string name = https_ ? "__Host-zsso_csrf" : "zsso_csrf";
    if (!route_.profile.empty()) name += "_" + route_.profile;
    return name;
  }
  std::string csrf_cookie(std::string_view value, std::int64_t max_age) const {
    std::string c = csrf_cookie_name() + "=" + std::string(value) + "; Path=" + (https_ ? "/" : route_url("login")) +
                    "; Max-Age=" + std::to_string(max_age) + "; HttpOnly; SameSite=Strict";
    if (https_) c += "; Secure";
    return c;
  }
  bool served_over_https() const {
    if (req_.https) return true;
    // A TLS-terminating proxy says so; only a trusted one is believed.
    auto peer = parse_ip(req_.remote_addr);
    return peer && cfg_.network.trusted_proxies.contains(*peer) &&
           ascii_lower(trim(req_.forwarded_proto)) == "https";
  }
  // The browser's half of a multi-step sign-in: the broker's conversation is
  // bound to this cookie's value, the page carries the conversation id.
  std::string conversation_cookie_name() const {
    return route_.profile.empty() ? "zsso_conv" : "zsso_conv_" + route_.profile;
  }
  std::string cookie(std::string_view name, std::string_view value, std::int64_t max_age) const {
    std::string c = std::string(name) + "=" + std::string(value) + "; Path=" + route_url("login") +
                    "; Max-Age=" + std::to_string(max_age) + "; HttpOnly; SameSite=Strict";
    if (req_.https) c += "; Secure";
    return c;
  }
  void note(std::string_view s) {
    if (!notes_.empty()) notes_ += "; ";
    notes_ += s;
  }
  // Zendesk's locale_id from a query string or form, as a hint.
  void hint_from_locale_id(const FormFields& fields) {
    const std::string* id = form_get(fields, "locale_id");
    if (!id || id->empty() || id->size() > 9 || !std::all_of(id->begin(), id->end(), [](char c) { return c >= '0' && c <= '9'; }))
      return;
    std::string tag = zendesk_locale_tag(std::stoll(*id), cfg_.helper.locale_ids);
    if (!tag.empty()) lang_hint_ = tag;
  }

  // Refusals made before the config is read (405, 413, 415, 400, 404) still
  // show the site's name, language settings, colours and help contact: the
  // config is read for the page once the decision is made, and a config
  // that does not load leaves the built-in look.
  bool config_tried_ = false;
  void config_for_page() {
    if (config_tried_) return;
    config_tried_ = true;
    if (auto loaded = load_config(); !loaded) cfg_ = Config{};
  }

  // The older call shape (title, text, … as msgids), kept so callers
  // written against it still build; new code passes a Message with a next step.
  Response page(int status, std::string_view title, std::string_view text, int prio, std::string log,
                std::string_view link_url = {}, std::string_view link_label = {}, bool show_request_id = false) {
    return page(status, Message{title, text, {}, link_url, link_label, show_request_id}, prio, std::move(log));
  }
  // A message page; m's texts are msgids (N_), translated here.
  Response page(int status, Message m, int prio, std::string log) {
    config_for_page();
    const std::string title(t(m.title)), text(t(m.text)), next(t(m.next)), label(t(m.link_label));
    m.title = title;
    m.text = text;
    m.next = next;
    m.link_label = label;
    m.with_request_id = m.with_request_id || status >= 400;
    Response r;
    r.status = status;
    r.body = message_page(frame(), m);
    r.content_security_policy = csp();
    r.log_priority = prio;
    r.log_message = std::move(log);
    return r;
  }
  Response finish(Response r) {
    // Every decision names who asked: the resolved client, or (refused
    // before the config, and so the trusted proxies, was read) the peer.
    if (!client_.empty()) {
      r.log_message += " client=" + client_;
    } else if (auto peer = parse_ip(req_.remote_addr)) {
      r.log_message += " peer=" + peer->to_string();
    } else {
      r.log_message += " peer=" + quote_for_log(req_.remote_addr, 64);
    }
    if (!route_.profile.empty()) r.log_message += " profile=" + route_.profile;
    if (lang_ready_ && lang_.tag != "en") r.log_message += " lang=" + lang_.tag;
    if (!notes_.empty()) r.log_message += " (" + notes_ + ")";
    return r;
  }

  Response not_found() {
    // The site's own name on its 404 too: the base config's (page() reads it).
    if (!route_.profile.empty()) {
      route_.profile.clear();
      config_tried_ = false;
    }
    return page(404,
                {N_("Page not found"), N_("There is no page at this address."),
                 N_("To sign in to Zendesk, use the link below or start from Zendesk's own sign-in button."),
                 req_.script_name + "/login", N_("Go to the sign-in page")},
                LOG_NOTICE, "404 no route for " + quote_for_log(req_.path_info));
  }
  Response bad_request(std::string why) {
    return page(400,
                {N_("Bad request"), N_("Your browser sent a request this page cannot use."),
                 N_("Go back to Zendesk and start signing in again. If it keeps happening, contact your IT "
                    "support and give them the request id below.")},
                LOG_NOTICE, "400 " + why);
  }
  Response server_error(int status, std::string why) {
    return page(status,
                {status == 503 ? N_("Sign-in unavailable") : N_("Sign-in is misconfigured"),
                 N_("Sign-in is not working right now. This is not a problem with your account or password."),
                 N_("Try again in a few minutes. If it keeps happening, contact your IT support and give them "
                    "the request id below.")},
                LOG_ERR, std::to_string(status) + " " + why);
  }
  Response base_redirect();
  Response refused(std::string_view text, std::string log) {
    return page(403,
                {N_("Sign-in refused"), text,
                 N_("If you think you should have access, contact your IT support and give them the request id "
                    "below.")},
                LOG_NOTICE, std::move(log));
  }

  Response run();
  Result<void> load_config();
  Response health();
  Response health_answer(int status, std::string log);
  Response login_get();
  Response login_post();
  Response logout();
  Response login_form(int status, std::string_view return_to, std::string_view user, std::string_view message,
                      std::string log);
  Response remote_user_sign_in(std::string_view return_to);
  Response attempt(LoginRequest& lr, std::string_view return_to);
  Response next_step(const FormFields& fields, std::string_view return_to, const std::string& claimed);
  Response outcome_page(LoginOutcome& out, std::string_view user, bool remote_user, std::string_view return_to,
                        const std::string& binding, std::string log_prefix);
  Response prompt(const LoginOutcome& out, std::string_view return_to, const std::string& binding, std::string log);
  Response start_again(std::string_view return_to, std::string log);
  Response deliver(const std::string& token, std::string_view return_to, std::string log,
                   const std::vector<broker::Message>& messages = {});
  std::string checked_return_to(const std::string* raw);

  // Sign-in sessions (issue 13), kept apart from the routes above.
  bool sessions_on() const { return cfg_.session.enabled(); }
  std::string session_cookie(std::string_view value, std::int64_t max_age) const;
  std::optional<std::string_view> session_cookie_sent() const;
  std::optional<Response> session_sign_in(std::string_view return_to);
  void set_session(Response& r, const LoginOutcome& out, std::string_view user);
  void clear_sessions(Response& r) const;
  bool web_server_signed_in();
};

// REMOTE_USER counts only with helper.trust_remote_user and with AUTH_TYPE
// beside it: the server sets both when one of its auth modules signed the
// user in, while a configuration mistake that copies a header into
// REMOTE_USER (SetEnvIf, a proxy's RequestHeader) sets only the one.
bool Handler::web_server_signed_in() {
  if (!cfg_.helper.trust_remote_user || req_.remote_user.empty()) return false;
  if (req_.auth_type.empty()) {
    note("REMOTE_USER without AUTH_TYPE ignored: not set by a web server auth module");
    return false;
  }
  return true;
}

Result<void> Handler::load_config() {
  auto text = read_trusted_file(env_.config_path, TrustedFileRules{});
  if (!text) return Error{"config: " + text.error()};
  auto cfg = parse_config(*text, route_.profile, env_.config_path);
  if (!cfg) {
    if (!route_.profile.empty()) {
      auto base = parse_config(*text, {}, env_.config_path);
      if (base && std::find(base->profile_names.begin(), base->profile_names.end(), route_.profile) ==
                      base->profile_names.end())
        return Error{"unknown-profile"};
    }
    return Error{"config: " + cfg.error()};
  }
  cfg_ = std::move(*cfg);
  site_name_ = cfg_.helper.site_name;
  if (!env_.endpoint_override.empty()) {
    auto ep = loopback_endpoint(env_.endpoint_override);
    if (!ep) return Error{"ZENDESK_SSO_ENDPOINT_OVERRIDE: " + ep.error()};
    cfg_.zendesk.endpoint_override = *ep;
    note("test-only endpoint override " + *ep + " in effect");
  }
  return {};
}

std::string Handler::checked_return_to(const std::string* raw) {
  if (!raw || raw->empty()) return {};
  if (auto ok = validate_return_to(*raw, cfg_.zendesk)) return *ok;
  note("return_to " + quote_for_log(*raw, 200) + " dropped: not the Zendesk host or a return_to_hosts entry");
  return {};
}

Response Handler::login_form(int status, std::string_view return_to, std::string_view user,
                             std::string_view message, std::string log) {
  auto token = new_csrf_token();
  if (!token) return server_error(500, "CSRF token: " + token.error());
  const std::string action = route_url("login");
  Response r;
  r.status = status;
  r.body = login_form_page(frame(), {action, *token, return_to, user, t(message)});
  r.content_security_policy = csp();
  r.header("Set-Cookie", csrf_cookie(*token, kCsrfLifetimeSeconds));
  r.log_priority = status == 200 ? LOG_INFO : LOG_NOTICE;
  r.log_message = std::move(log);
  return r;
}

Response Handler::deliver(const std::string& token, std::string_view return_to, std::string log,
                          const std::vector<broker::Message>& messages) {
  Response r;
  r.log_priority = LOG_INFO;
  r.log_message = std::move(log);
  // The form token and any conversation cookie have done their job.
  r.header("Set-Cookie", csrf_cookie("", 0));
  if (!cookie_values(req_.cookie, conversation_cookie_name()).empty())
    r.header("Set-Cookie", cookie(conversation_cookie_name(), "", 0));
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
  const std::string who = (user.empty() ? std::string("user=-") : "user=" + user_for_log(user)) + step;
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
      return login_form(401, return_to, step.empty() ? user : std::string_view{}, N_("The user name or password is incorrect."),
                        "401 bad login " + who + ": " + out.detail);
    case LoginStatus::not_allowed:
      if (remote_user)
        return refused(N_("This account may not sign in to Zendesk from here."), "403 not allowed " + who + ": " + out.detail);
      return login_form(403, return_to, step.empty() ? user : std::string_view{},
                        N_("This account may not sign in to Zendesk from here."),
                        "403 not allowed " + who + ": " + out.detail);
    case LoginStatus::password_expired: {
      // The admin's own password-change page; %u is the user, URL-encoded.
      std::string url;
      for (std::size_t i = 0; i < cfg_.helper.password_change_url.size(); ++i) {
        const char c = cfg_.helper.password_change_url[i];
        if (c == '%' && i + 1 < cfg_.helper.password_change_url.size() && cfg_.helper.password_change_url[i + 1] == 'u') {
          url += percent_encode(user);
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
                        LOG_WARNING, "503 busy " + who + ": " + out.detail, route_url("login"), N_("Try again"));
      r.header("Retry-After", "30");
      return r;
    }
    case LoginStatus::unavailable:
      return server_error(503, "sign-in unavailable " + who + ": " + out.detail);
    case LoginStatus::error:
      break;
  }
  return server_error(500, "sign-in error " + who + ": " + out.detail);
}

Response Handler::prompt(const LoginOutcome& out, std::string_view return_to, const std::string& binding,
                         std::string log) {
  auto token = new_csrf_token();
  if (!token) return server_error(500, "CSRF token: " + token.error());
  const std::string action = route_url("login");
  std::string again = action;
  if (!return_to.empty()) again += "?return_to=" + percent_encode(return_to);
  const std::string conversation = hex_lower(out.conversation);
  Response r;
  r.status = 200;
  r.body = prompt_page(frame(), {action, *token, return_to, conversation, out.step, out.messages, again});
  r.content_security_policy = csp();
  r.header("Set-Cookie", csrf_cookie(*token, kCsrfLifetimeSeconds));
  r.header("Set-Cookie", cookie(conversation_cookie_name(), binding, cfg_.broker.sign_in_deadline));
  r.log_priority = LOG_INFO;
  r.log_message = std::move(log) + " conversation=" + broker::conversation_tag(out.conversation) +
                  " step=" + std::to_string(out.step);
  return r;
}

Response Handler::start_again(std::string_view return_to, std::string log) {
  std::string again = route_url("login");
  if (!return_to.empty()) again += "?return_to=" + percent_encode(return_to);
  Response r = page(410, N_("Sign-in expired"),
                    N_("This sign-in took too long or has already ended. Start again from the sign-in form."), LOG_NOTICE,
                    std::move(log), again, N_("Start again"));
  r.header("Set-Cookie", cookie(conversation_cookie_name(), "", 0));
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

Response Handler::remote_user_sign_in(std::string_view return_to) {
  LoginRequest lr;
  lr.user = req_.remote_user;
  lr.password_checked_by_web_server = true;
  if (lr.user.size() > kMaxUser || has_control_chars(lr.user) || !is_valid_utf8(lr.user))
    return refused(N_("This account may not sign in to Zendesk."), "403 unusable REMOTE_USER " + user_for_log(lr.user));
  note("REMOTE_USER");
  return attempt(lr, return_to);
}

Response Handler::login_get() {
  auto query = parse_form(req_.query);
  if (!query) return bad_request("unparsable query string");
  if (form_count(*query, "return_to") > 1) return bad_request("repeated return_to");
  hint_from_locale_id(*query);
  const std::string return_to = checked_return_to(form_get(*query, "return_to"));
  if (web_server_signed_in()) return remote_user_sign_in(return_to);
  if (auto r = session_sign_in(return_to)) return std::move(*r);
  return login_form(200, return_to, {}, {}, "200 form");
}

Response Handler::login_post() {
  auto fields = parse_form(req_.body_view());
  secure_wipe(req_.body.data(), req_.body.size());
  if (!fields) return bad_request("unparsable form body");
  FieldWiper wiper{*fields};
  for (auto key : {"user", "password", "csrf", "return_to", "conversation", "step", "lang"})
    if (form_count(*fields, key) > 1) return bad_request(std::string("repeated form field ") + key);
  // The language the form was shown in (it answers in the same one).
  if (const std::string* l = form_get(*fields, "lang"); l && is_language_tag(*l)) lang_hint_ = *l;
  const std::string return_to = checked_return_to(form_get(*fields, "return_to"));
  std::string again = route_url("login");
  if (!return_to.empty()) again += "?return_to=" + percent_encode(return_to);
  const Message expired{N_("Form expired"), N_("This sign-in form has expired or did not come from this site."),
                        N_("Open the sign-in form again and sign in within 10 minutes. If this keeps happening, make "
                           "sure your browser accepts cookies from this site."),
                        again, N_("Open the sign-in form")};
  // What the browser says about where the form came from, before anything else.
  if (std::string why = cross_site_refusal(req_.sec_fetch_site, req_.origin, own_origin(req_, https_)); !why.empty())
    return page(403, expired, LOG_NOTICE, "403 cross-site form refused: " + why);
  if (web_server_signed_in()) return remote_user_sign_in(return_to);

  // CSRF before anything touches PAM.
  const std::string* csrf = form_get(*fields, "csrf");
  CsrfCheck c = check_csrf(cookie_values(req_.cookie, csrf_cookie_name()), csrf ? *csrf : std::string_view{});
  const std::string* user = form_get(*fields, "user");
  // Who the form claimed to be, for the log: an unknown name only by its
  // length (it may be a password typed into the wrong field).
  const std::string claimed = user && !trim(*user).empty() ? " user=" + user_for_log(trim(*user)) : "";
  if (c != CsrfCheck::ok) return page(403, expired, LOG_NOTICE, std::string("403 CSRF token ") + to_string(c) + claimed);
  // The next step of a multi-step sign-in.
  if (form_get(*fields, "conversation")) return next_step(*fields, return_to, claimed);

  const std::string* password = form_get(*fields, "password");
  if (!user || !password || trim(*user).empty() || password->empty())
    return login_form(401, return_to, user ? std::string_view(*user) : std::string_view{},
                      N_("Enter your user name and password."), "401 empty user name or password" + claimed);
  // Unusable names and passwords fail like wrong ones, without PAM.
  if (user->size() > kMaxUser || has_control_chars(*user) || !is_valid_utf8(*user))
    return login_form(401, return_to, {}, N_("The user name or password is incorrect."),
                      "401 unusable user name " + user_for_log(*user));
  if (password->size() > kMaxPassword || password->find('\0') != std::string::npos)
    return login_form(401, return_to, *user, N_("The user name or password is incorrect."),
                      "401 unusable password user=" + user_for_log(*user));

  LoginRequest lr;
  lr.user = std::string(trim(*user));
  lr.password.assign(password->begin(), password->end());
  return attempt(lr, return_to);
}

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

// The CGI's own address (PATH_INFO "" or "/"): to the sign-in form, with
// the query string (Zendesk's return_to, locale_id …) kept.
Response Handler::base_redirect() {
  std::string location = req_.script_name + "/login";
  if (!req_.query.empty()) {
    // QUERY_STRING as the server passed it; anything a Location header may
    // not carry is percent-encoded (the server normally has done so).
    location += '?';
    static constexpr char kHex[] = "0123456789ABCDEF";
    for (unsigned char c : req_.query) {
      if (c > 0x20 && c < 0x7f) {
        location += static_cast<char>(c);
      } else {
        location += '%';
        location += kHex[c >> 4];
        location += kHex[c & 15];
      }
    }
  }
  Response r;
  r.status = 302;
  r.header("Location", location);
  r.body = message_page(frame(), t(N_("Sign in")), t(N_("Continue to the sign-in page.")), location,
                        t(N_("Go to the sign-in page")), false);
  r.content_security_policy = csp();
  r.log_priority = LOG_INFO;
  r.log_message = "302 base path, to the sign-in form";
  return r;
}

// A load balancer's question: can this host sign people in? 200 when the
// config loads and (broker mode) the broker answers a ping; else 503. The
// body is one word either way; the reason goes to the log only.
Response Handler::health_answer(int status, std::string log) {
  Response r;
  r.status = status;
  r.content_type = "text/plain; charset=utf-8";
  r.body = status == 200 ? "ok\n" : "unavailable\n";
  r.log_priority = status == 200 ? LOG_DEBUG : LOG_ERR;
  r.log_message = std::to_string(status) + " health" + (log.empty() ? "" : ": " + log);
  return r;
}

Response Handler::health() {
  if (auto loaded = load_config(); !loaded) return health_answer(503, loaded.error());
  auto client = resolve_client_address(req_.remote_addr, req_.forwarded_for, cfg_.network.trusted_proxies);
  if (client) client_ = client->text;
  if (!cfg_.helper.health_from_anywhere) {
    if (!client) return bad_request(client.error());
    if (Decision d = check_address(cfg_.network, client_); !d.allowed())
      return page(403,
                  {N_("Not available from here"), N_("Sign-in to Zendesk is only available from the company network."),
                   N_("Connect to the company network (in the office, or through the VPN) and try again. If you are "
                      "connected and still see this, contact your IT support and give them the request id below.")},
                  LOG_NOTICE, "403 health: " + d.reason);
  }
  if (!cfg_.broker.socket.empty())
    if (auto pong = broker_ping(cfg_); !pong) return health_answer(503, pong.error());
  return health_answer(200, {});
}

Response Handler::run() {
  const bool is_get = req_.method == "GET" || req_.method == "HEAD";
  if (req_.path_info.empty() || req_.path_info == "/") {
    if (is_get) return base_redirect();
    Response r = page(405,
                      {N_("Method not allowed"), N_("This page does not accept that kind of request."),
                       N_("Open the sign-in page from Zendesk instead.")},
                      LOG_NOTICE, "405 method " + quote_for_log(req_.method, 20) + " on the base path");
    r.header("Allow", "GET, HEAD");
    return r;
  }
  route_ = match_route(req_.path_info);
  if (route_.kind == Route::Kind::none) return not_found();

  const bool is_post = req_.method == "POST";
  if (!is_get && !(is_post && route_.kind == Route::Kind::login)) {
    Response r = page(405,
                      {N_("Method not allowed"), N_("This page does not accept that kind of request."),
                       N_("Open the sign-in page from Zendesk instead.")},
                      LOG_NOTICE, "405 method " + quote_for_log(req_.method, 20));
    r.header("Allow", route_.kind == Route::Kind::login ? "GET, HEAD, POST" : "GET, HEAD");
    return r;
  }
  if (is_post) {
    // Cheap refusals, decided before any file is read (the page then reads
    // the config for its look and language: config_for_page).
    if (!is_form_urlencoded(req_.content_type)) {
      return page(415,
                  {N_("Unsupported form"), N_("The form must be sent as application/x-www-form-urlencoded."),
                   N_("Open the sign-in form again and send it from there.")},
                  LOG_NOTICE, "415 content type " + quote_for_log(req_.content_type, 80));
    }
    switch (read_body(req_, env_.body_fd)) {
      case BodyStatus::ok: break;
      case BodyStatus::too_large:
        return page(413,
                    {N_("Request too large"), N_("The form sent more data than a sign-in needs."),
                     N_("Open the sign-in form again, check what you typed, and try again.")},
                    LOG_NOTICE, "413 body larger than " + std::to_string(kMaxBody) + " bytes");
      case BodyStatus::bad:
        return bad_request("body shorter than CONTENT_LENGTH or CONTENT_LENGTH invalid");
    }
  }

  config_tried_ = true;
  if (route_.kind == Route::Kind::health) return health();
  if (auto loaded = load_config(); !loaded) {
    if (loaded.error() == "unknown-profile") return not_found();
    return server_error(500, loaded.error());
  }
  if (is_get) {
    // Zendesk's locale_id names the language before anything is shown.
    if (auto query = parse_form(req_.query)) hint_from_locale_id(*query);
  }
  if (route_.kind == Route::Kind::logout) {
    // Signing out needs no address check; the log line still names the client.
    if (auto client = resolve_client_address(req_.remote_addr, req_.forwarded_for, cfg_.network.trusted_proxies))
      client_ = client->text;
    return logout();
  }

  https_ = served_over_https();
  auto client = resolve_client_address(req_.remote_addr, req_.forwarded_for, cfg_.network.trusted_proxies);
  if (!client) return bad_request(client.error());
  client_ = client->text;
  if (client->via_proxy) note("via trusted proxy " + req_.remote_addr);
  if (Decision d = check_address(cfg_.network, client_); !d.allowed())
    return page(403,
                {N_("Not available from here"), N_("Sign-in to Zendesk is only available from the company network."),
                 N_("Connect to the company network (in the office, or through the VPN) and try again. If you are "
                    "connected and still see this, contact your IT support and give them the request id below.")},
                LOG_NOTICE, "403 " + d.reason);

  return is_post ? login_post() : login_get();
}

// ---- Sign-in sessions ----------------------------------------------------------------

// __Host-: Secure, Path=/, no Domain, so no other host or path can set or
// shadow it. Secure even on plain http: browsers keep it from http://localhost
// and 127.0.0.1 (secure contexts), and drop it elsewhere, so a session never
// travels unencrypted. Lax: Zendesk's redirect to us is a top-level GET.
std::string Handler::session_cookie(std::string_view value, std::int64_t max_age) const {
  return session_cookie_name(route_.profile) + "=" + std::string(value) + "; Path=/; Max-Age=" +
         std::to_string(std::max<std::int64_t>(0, max_age)) + "; Secure; HttpOnly; SameSite=Lax";
}

// The route's session cookie when the browser sent exactly one that is not too long.
std::optional<std::string_view> Handler::session_cookie_sent() const {
  auto values = cookie_values(req_.cookie, session_cookie_name(route_.profile));
  if (values.size() != 1 || values.front().empty() || values.front().size() > kMaxSessionCookie) return std::nullopt;
  return values.front();
}

// GET /login from a browser with a session: a token without the form, after
// the account checks (the broker's, in broker mode; ranges were checked in
// run()). nullopt: no session to use, show the form.
std::optional<Response> Handler::session_sign_in(std::string_view return_to) {
  if (!sessions_on() || req_.method != "GET") return std::nullopt;
  if (cookie_values(req_.cookie, session_cookie_name(route_.profile)).empty()) return std::nullopt;
  auto value = session_cookie_sent();
  SessionSignIn si;
  si.cookie = value ? std::string(*value) : std::string();
  si.client_address = client_;
  si.profile = route_.profile;
  si.request_id = env_.request_id;
  LoginOutcome out = value ? sign_in_from_session(cfg_, si, env_.now)
                           : LoginOutcome{LoginStatus::bad_login, {}, "session cookie sent twice or too long"};
  auto session = parse_session_unverified(si.cookie);
  if (out.status == LoginStatus::ok && session) {
    const std::string age = std::to_string(std::max<std::int64_t>(0, env_.now - session->issued_at));
    Response r = deliver(out.token, return_to,
                         "200 signed in from session user=" + quote_for_log(session->user, 64) + " age=" + age + "s");
    note(out.detail);
    set_session(r, out, session->user);
    return r;
  }
  if (out.status == LoginStatus::ok) out.detail += "; the refreshed cookie did not parse";
  // Refused or broken: the form; a cookie that will never work again goes.
  Response r = login_form(200, return_to, {}, {}, "200 form, session not used: " + out.detail);
  if (out.status == LoginStatus::unavailable || out.status == LoginStatus::error) r.log_priority = LOG_ERR;
  else r.header("Set-Cookie", session_cookie("", 0));
  return r;
}

// After a sign-in: the cookie the broker (or the direct-mode module) made;
// this process never holds session.key_file.
void Handler::set_session(Response& r, const LoginOutcome& out, std::string_view) {
  if (!sessions_on()) return;
  const std::string& value = out.session;
  auto s = parse_session_unverified(value);
  if (!s) return;
  r.header("Set-Cookie", session_cookie(value, s->issued_at + cfg_.session.max_seconds - env_.now));
}

// /logout: every session cookie this browser sent goes, not only the route's
// profile's (Path=/: a browser holding one sends it). None sent: no Set-Cookie.
void Handler::clear_sessions(Response& r) const {
  const std::string base = session_cookie_name({});
  std::string_view rest = req_.cookie;
  std::vector<std::string> names;
  while (!rest.empty()) {
    auto semi = rest.find(';');
    std::string_view pair = trim(rest.substr(0, semi));
    rest = semi == std::string_view::npos ? std::string_view{} : rest.substr(semi + 1);
    std::string_view name = trim(pair.substr(0, pair.find('=')));
    const bool ours = name == base || (name.size() > base.size() + 1 && name.substr(0, base.size() + 1) == base + "_" &&
                                       is_profile_name(name.substr(base.size() + 1)));
    if (ours && std::find(names.begin(), names.end(), name) == names.end())
      names.emplace_back(name);
  }
  for (const auto& n : names) r.header("Set-Cookie", n + "=; Path=/; Max-Age=0; Secure; HttpOnly; SameSite=Lax");
}

}  // namespace

Route match_route(std::string_view path) {
  if (path == "/health") return {Route::Kind::health, {}};
  for (auto [prefix, kind] : {std::pair{std::string_view("/login"), Route::Kind::login},
                              std::pair{std::string_view("/logout"), Route::Kind::logout}}) {
    if (path == prefix) return {kind, {}};
    if (path.size() > prefix.size() + 1 && path.substr(0, prefix.size()) == prefix && path[prefix.size()] == '/') {
      std::string_view name = path.substr(prefix.size() + 1);
      if (is_profile_name(name)) return {kind, std::string(name)};
      return {};
    }
  }
  return {};
}

Result<std::string> loopback_endpoint(std::string_view base) {
  auto origin = loopback_origin(base);
  if (!origin) return Error{origin.error() + "; refusing to send tokens there"};
  return *origin + "/access/jwt";
}

Response handle_request(Request& req, const Environment& env) {
  return Handler(req, env).handle();
}

}  // namespace zsso::cgi
