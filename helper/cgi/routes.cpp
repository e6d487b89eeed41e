#include "routes.hpp"

#include <syslog.h>

#include <algorithm>

#include "client_address.hpp"
#include "csrf.hpp"
#include "login.hpp"
#include "pages.hpp"
#include "zsso/account.hpp"
#include "zsso/files.hpp"
#include "zsso/policy.hpp"
#include "zsso/text.hpp"
#include "zsso/url.hpp"
#include "zsso/zendesk.hpp"

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

  PageFrame frame() const { return {site_name_, env_.request_id}; }
  std::string route_url(std::string_view what) const {
    std::string u = req_.script_name + "/" + std::string(what);
    if (!route_.profile.empty()) u += "/" + route_.profile;
    return u;
  }
  // Over HTTPS the CSRF cookie has the "__Host-" prefix: browsers then keep
  // it only with Secure, Path=/ and no Domain, so no plain-HTTP page and no
  // sibling subdomain can plant or overwrite it.
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
  void note(std::string_view s) {
    if (!notes_.empty()) notes_ += "; ";
    notes_ += s;
  }

  Response page(int status, std::string_view title, std::string_view text, int prio, std::string log,
                std::string_view link_url = {}, std::string_view link_label = {}, bool show_request_id = false) {
    Response r;
    r.status = status;
    r.body = message_page(frame(), title, text, link_url, link_label, show_request_id || status >= 400);
    r.content_security_policy = build_csp(csp_hash(kPageStyle), {}, {});
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
    if (!notes_.empty()) r.log_message += " (" + notes_ + ")";
    return r;
  }

  Response not_found() {
    return page(404, "Page not found", "There is no such page here.", LOG_NOTICE,
                "404 no route for " + quote_for_log(req_.path_info));
  }
  Response bad_request(std::string why) {
    return page(400, "Bad request", "The request could not be understood.", LOG_NOTICE, "400 " + why);
  }
  Response server_error(int status, std::string why) {
    return page(status, status == 503 ? "Sign-in unavailable" : "Sign-in is misconfigured",
                "Sign-in is not working right now. Try again later; if it keeps happening, tell your "
                "administrator the request id below.",
                LOG_ERR, std::to_string(status) + " " + why);
  }

  Response run();
  Result<void> load_config();
  Response login_get();
  Response login_post();
  Response logout();
  Response login_form(int status, std::string_view return_to, std::string_view user, std::string_view message,
                      std::string log);
  Response remote_user_sign_in(std::string_view return_to);
  Response attempt(LoginRequest& lr, std::string_view return_to);
  Response deliver(const std::string& token, std::string_view return_to, std::string log);
  std::string checked_return_to(const std::string* raw);
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
  auto key = CsrfKey::from_config(cfg_);
  if (!key) return server_error(500, "CSRF key: " + key.error());
  auto token = key->issue(env_.now);
  if (!token) return server_error(500, "CSRF token: " + token.error());
  const std::string action = route_url("login");
  Response r;
  r.status = status;
  r.body = login_form_page(frame(), {action, *token, return_to, user, message});
  r.content_security_policy = build_csp(csp_hash(kPageStyle), {}, {});
  r.header("Set-Cookie", csrf_cookie(*token, kCsrfLifetimeSeconds));
  r.log_priority = status == 200 ? LOG_INFO : LOG_NOTICE;
  r.log_message = std::move(log);
  return r;
}

Response Handler::deliver(const std::string& token, std::string_view return_to, std::string log) {
  Response r;
  r.log_priority = LOG_INFO;
  r.log_message = std::move(log);
  // The form token has done its job.
  r.header("Set-Cookie", csrf_cookie("", 0));
  if (cfg_.zendesk.delivery == Delivery::get) {
    r.status = 302;
    r.header("Location", jwt_get_url(cfg_.zendesk, token, return_to));
    r.body = message_page(frame(), "Signing in", "Continue to Zendesk.", {}, {}, false);
    r.content_security_policy = build_csp(csp_hash(kPageStyle), {}, {});
    r.log_message += " delivery=get";
    return r;
  }
  // form-action must allow the endpoint's origin (scheme://host[:port]).
  const std::string endpoint = jwt_endpoint(cfg_.zendesk);
  const std::string origin = endpoint.substr(0, endpoint.find('/', endpoint.find("//") + 2));
  r.status = 200;
  r.body = delivery_page(frame(), jwt_post_form(cfg_.zendesk, token, return_to));
  r.content_security_policy = build_csp(csp_hash(kPageStyle), csp_hash(kAutoSubmitScript), {origin});
  r.log_message += " delivery=post";
  return r;
}

Response Handler::attempt(LoginRequest& lr, std::string_view return_to) {
  lr.client_address = client_;
  lr.profile = route_.profile;
  lr.request_id = env_.request_id;
  const std::string who = "user=" + user_for_log(lr.user);
  LoginOutcome out = sign_in(cfg_, lr);
  switch (out.status) {
    case LoginStatus::ok:
      return deliver(out.token, return_to, "200 signed in " + who);
    case LoginStatus::bad_login:
      if (lr.password_checked_by_web_server)
        return page(403, "Sign-in refused", "This account may not sign in to Zendesk.", LOG_NOTICE,
                    "403 REMOTE_USER refused " + who + ": " + out.detail);
      return login_form(401, return_to, lr.user, "The user name or password is incorrect.",
                        "401 bad login " + who + ": " + out.detail);
    case LoginStatus::not_allowed:
      if (lr.password_checked_by_web_server)
        return page(403, "Sign-in refused", "This account may not sign in to Zendesk from here.", LOG_NOTICE,
                    "403 not allowed " + who + ": " + out.detail);
      return login_form(403, return_to, lr.user, "This account may not sign in to Zendesk from here.",
                        "403 not allowed " + who + ": " + out.detail);
    case LoginStatus::unavailable:
      return server_error(503, "sign-in unavailable " + who + ": " + out.detail);
    case LoginStatus::error:
      break;
  }
  return server_error(500, "sign-in error " + who + ": " + out.detail);
}

Response Handler::remote_user_sign_in(std::string_view return_to) {
  LoginRequest lr;
  lr.user = req_.remote_user;
  lr.password_checked_by_web_server = true;
  if (lr.user.size() > kMaxUser || has_control_chars(lr.user) || !is_valid_utf8(lr.user))
    return page(403, "Sign-in refused", "This account may not sign in to Zendesk.", LOG_NOTICE,
                "403 unusable REMOTE_USER " + user_for_log(lr.user));
  note("REMOTE_USER");
  return attempt(lr, return_to);
}

Response Handler::login_get() {
  auto query = parse_form(req_.query);
  if (!query) return bad_request("unparsable query string");
  if (form_count(*query, "return_to") > 1) return bad_request("repeated return_to");
  const std::string return_to = checked_return_to(form_get(*query, "return_to"));
  if (web_server_signed_in()) return remote_user_sign_in(return_to);
  return login_form(200, return_to, {}, {}, "200 form");
}

Response Handler::login_post() {
  auto fields = parse_form(req_.body_view());
  secure_wipe(req_.body.data(), req_.body.size());
  if (!fields) return bad_request("unparsable form body");
  FieldWiper wiper{*fields};
  for (auto key : {"user", "password", "csrf", "return_to"})
    if (form_count(*fields, key) > 1) return bad_request(std::string("repeated form field ") + key);
  const std::string return_to = checked_return_to(form_get(*fields, "return_to"));
  std::string again = route_url("login");
  if (!return_to.empty()) again += "?return_to=" + percent_encode(return_to);
  const std::string_view expired_text =
      "This sign-in form has expired or did not come from this site. Open it again and sign in.";
  // What the browser says about where the form came from, before anything else.
  if (std::string why = cross_site_refusal(req_); !why.empty())
    return page(403, "Form expired", expired_text, LOG_NOTICE, "403 cross-site form refused: " + why, again,
                "Open the sign-in form");
  if (web_server_signed_in()) return remote_user_sign_in(return_to);

  // CSRF before anything touches PAM.
  auto key = CsrfKey::from_config(cfg_);
  if (!key) return server_error(500, "CSRF key: " + key.error());
  const std::string* csrf = form_get(*fields, "csrf");
  CsrfCheck c = key->check(cookie_values(req_.cookie, csrf_cookie_name()), csrf ? *csrf : std::string_view{},
                           env_.now);
  const std::string* user = form_get(*fields, "user");
  // Who the form claimed to be, for the log: an unknown name only by its
  // length (it may be a password typed into the wrong field).
  const std::string claimed = user && !trim(*user).empty() ? " user=" + user_for_log(trim(*user)) : "";
  if (c != CsrfCheck::ok)
    return page(403, "Form expired", expired_text, LOG_NOTICE, std::string("403 CSRF token ") + to_string(c) + claimed,
                again, "Open the sign-in form");

  const std::string* password = form_get(*fields, "password");
  if (!user || !password || trim(*user).empty() || password->empty())
    return login_form(401, return_to, user ? std::string_view(*user) : std::string_view{},
                      "Enter your user name and password.", "401 empty user name or password" + claimed);
  // Unusable names and passwords fail like wrong ones, without PAM.
  if (user->size() > kMaxUser || has_control_chars(*user) || !is_valid_utf8(*user))
    return login_form(401, return_to, {}, "The user name or password is incorrect.",
                      "401 unusable user name " + user_for_log(*user));
  if (password->size() > kMaxPassword || password->find('\0') != std::string::npos)
    return login_form(401, return_to, *user, "The user name or password is incorrect.",
                      "401 unusable password user=" + user_for_log(*user));

  LoginRequest lr;
  lr.user = std::string(trim(*user));
  lr.password.assign(password->begin(), password->end());
  return attempt(lr, return_to);
}

Response Handler::logout() {
  auto query = parse_form(req_.query);
  if (!query) return bad_request("unparsable query string");
  const std::string* kind = form_get(*query, "kind");
  if (kind && *kind == "error") {
    // Anyone can make this link: the page shows known messages as advice of
    // our own and the rest only framed, quoted, neutralised and cut
    // (zendesk_error_text); the log keeps what was sent, quoted.
    const std::string* message = form_get(*query, "message");
    const std::string text = zendesk_error_text(message ? std::string_view(*message) : std::string_view{});
    return page(200, "Zendesk could not sign you in", text, LOG_WARNING,
                "200 Zendesk reported a sign-in error: " + quote_for_log(message ? *message : std::string(), 300),
                route_url("login"), "Try signing in again", true);
  }
  if (!cfg_.helper.logout_redirect.empty()) {
    Response r;
    r.status = 302;
    r.header("Location", cfg_.helper.logout_redirect);
    r.body = message_page(frame(), "Signed out", "You are signed out of Zendesk.", {}, {}, false);
    r.content_security_policy = build_csp(csp_hash(kPageStyle), {}, {});
    r.log_message = "302 signed out, to logout_redirect";
    return r;
  }
  Response r = page(200, "Signed out", "You are signed out of Zendesk.", LOG_INFO, "200 signed out",
                    route_url("login"), "Sign in again");
  return r;
}

Response Handler::run() {
  route_ = match_route(req_.path_info);
  if (route_.kind == Route::Kind::none) return not_found();

  const bool is_get = req_.method == "GET" || req_.method == "HEAD";
  const bool is_post = req_.method == "POST";
  if (!is_get && !(is_post && route_.kind == Route::Kind::login)) {
    Response r = page(405, "Method not allowed", "This page does not accept that kind of request.", LOG_NOTICE,
                      "405 method " + quote_for_log(req_.method, 20));
    r.header("Allow", route_.kind == Route::Kind::login ? "GET, HEAD, POST" : "GET, HEAD");
    return r;
  }
  if (is_post) {
    // Cheap refusals before any file is read.
    if (!is_form_urlencoded(req_.content_type)) {
      return page(415, "Unsupported form", "The form must be sent as application/x-www-form-urlencoded.",
                  LOG_NOTICE, "415 content type " + quote_for_log(req_.content_type, 80));
    }
    switch (read_body(req_, env_.body_fd)) {
      case BodyStatus::ok: break;
      case BodyStatus::too_large:
        return page(413, "Request too large", "The form sent more data than a sign-in needs.", LOG_NOTICE,
                    "413 body larger than " + std::to_string(kMaxBody) + " bytes");
      case BodyStatus::bad:
        return bad_request("body shorter than CONTENT_LENGTH or CONTENT_LENGTH invalid");
    }
  }

  if (auto loaded = load_config(); !loaded) {
    if (loaded.error() == "unknown-profile") return not_found();
    return server_error(500, loaded.error());
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
    return page(403, "Not available from here",
                "Sign-in to Zendesk is only available from the company network.", LOG_NOTICE, "403 " + d.reason);

  return is_post ? login_post() : login_get();
}

}  // namespace

Route match_route(std::string_view path) {
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
  std::string_view rest;
  if (base.rfind("http://", 0) == 0) rest = base.substr(7);
  else if (base.rfind("https://", 0) == 0) rest = base.substr(8);
  else return Error{quote_for_log(base) + " must start with http:// or https://"};
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  std::string_view host = rest;
  if (!host.empty() && host.front() == '[') {
    auto close = host.find(']');
    if (close == std::string_view::npos) return Error{quote_for_log(base) + ": broken IPv6 literal"};
    std::string_view after = host.substr(close + 1);
    host = host.substr(1, close - 1);
    rest = after;
  } else {
    auto colon = host.find(':');
    rest = colon == std::string_view::npos ? std::string_view{} : host.substr(colon);
    host = host.substr(0, colon);
  }
  if (!rest.empty()) {
    if (rest.front() != ':' || rest.size() < 2 || rest.size() > 6 ||
        !std::all_of(rest.begin() + 1, rest.end(), [](char c) { return c >= '0' && c <= '9'; }))
      return Error{quote_for_log(base) + " must be scheme://host[:port] with no path"};
  }
  bool loopback = host == "localhost";
  if (auto ip = parse_ip(host)) {
    auto ranges = CidrSet::parse({"127.0.0.0/8", "::1/128"}, "loopback");
    loopback = ranges && ranges->contains(*ip);
  }
  if (!loopback) return Error{quote_for_log(base) + " is not a loopback address; refusing to send tokens there"};
  std::string out(base);
  if (out.back() == '/') out.pop_back();
  return out + "/access/jwt";
}

Response handle_request(Request& req, const Environment& env) {
  return Handler(req, env).handle();
}

}  // namespace zsso::cgi
