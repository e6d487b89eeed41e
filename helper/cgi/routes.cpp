// SPDX-License-Identifier: BSD-3-Clause
// Dispatch: which route a request is for, and the checks every request
// passes before its route sees it (method, body, config, client address).
// What each route does lives in the file of its job (handler.hpp lists them).
#include "routes.hpp"

#include <syslog.h>

#include "client_address.hpp"
#include "handler.hpp"
#include "zsso/policy.hpp"
#include "zsso/text.hpp"

namespace zsso::cgi {

Route match_route(std::string_view path) {
  if (path == "/health") return {Route::Kind::health, {}};
  if (path == "/metrics") return {Route::Kind::metrics, {}};
  for (auto [prefix, kind] : {std::pair{std::string_view("/login"), Route::Kind::login},
                              std::pair{std::string_view("/logout"), Route::Kind::logout},
                              std::pair{std::string_view("/keys"), Route::Kind::keys}}) {
    if (path == prefix) return {kind, {}};
    if (path.size() > prefix.size() + 1 && path.substr(0, prefix.size()) == prefix && path[prefix.size()] == '/') {
      std::string_view name = path.substr(prefix.size() + 1);
      if (is_profile_name(name)) return {kind, std::string(name)};
      return {};
    }
  }
  return {};
}

Response handle_request(Request& req, const Environment& env) {
  return Handler(req, env).handle();
}

Response Handler::method_not_allowed(std::string log, std::string_view allow) {
  Response r = page(405,
                    {N_("Method not allowed"), N_("This page does not accept that kind of request."),
                     N_("Open the sign-in page from Zendesk instead.")},
                    LOG_NOTICE, std::move(log));
  r.header("Allow", std::string(allow));
  return r;
}

Response Handler::run() {
  const bool is_get = req_.method == "GET" || req_.method == "HEAD";
  if (req_.path_info.empty() || req_.path_info == "/") {
    if (is_get) return base_redirect();
    return method_not_allowed("405 method " + quote_for_log(req_.method, 20) + " on the base path", "GET, HEAD");
  }
  route_ = match_route(req_.path_info);
  if (route_.kind == Route::Kind::none) return not_found();

  const bool is_post = req_.method == "POST";
  const bool takes_posts = route_.kind == Route::Kind::login || route_.kind == Route::Kind::keys;
  if (!is_get && !(is_post && takes_posts))
    return method_not_allowed("405 method " + quote_for_log(req_.method, 20), takes_posts ? "GET, HEAD, POST" : "GET, HEAD");
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
  // /health reads the config itself: its answer is one word, never a page.
  if (route_.kind == Route::Kind::health) return health();
  if (route_.kind == Route::Kind::metrics) return metrics();
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

  // Every sign-in page: only from network.ip_ranges.
  https_ = served_over_https();
  auto client = resolve_client_address(req_.remote_addr, req_.forwarded_for, cfg_.network.trusted_proxies);
  if (!client) return bad_request(client.error());
  client_ = client->text;
  if (client->via_proxy) note("via trusted proxy " + req_.remote_addr);
  if (Decision d = check_address(cfg_.network, client_); !d.allowed()) {
    decided(audit::Way::unknown, audit::Outcome::outside_ranges, {}, d.reason);
    return outside_ranges("403 " + d.reason);
  }

  // The "Security keys" page (keys.cpp): a sign-in whose purpose is a new key.
  if (route_.kind == Route::Kind::keys) return is_post ? keys_post() : keys_get();
  return is_post ? login_post() : login_get();
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

}  // namespace zsso::cgi
