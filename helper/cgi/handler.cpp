// SPDX-License-Identifier: BSD-3-Clause
// What every route shares: the config (the route's profile), the page's
// language and look, message and error pages, and the request's log line.
#include "handler.hpp"

#include <syslog.h>

#include "zsso/metrics.hpp"

#include <algorithm>

#include "branding.hpp"
#include "zsso/files.hpp"
#include "zsso/text.hpp"
#include "zsso/zendesk.hpp"

namespace zsso::cgi {

bool is_profile_name(std::string_view n) {
  if (n.empty() || n.size() > 64) return false;
  return std::all_of(n.begin(), n.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
  });
}

Result<std::string> loopback_endpoint(std::string_view base) {
  auto origin = loopback_origin(base);
  if (!origin) return Error{origin.error() + "; refusing to send tokens there"};
  return *origin + "/access/jwt";
}

const Language& Handler::lang() {
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

void Handler::ensure_brand() {
  if (brand_ready_) return;
  brand_ready_ = true;
  style_ = page_style(cfg_.helper.primary_color);
  if (!cfg_.helper.logo_file.empty()) {
    if (auto logo = logo_data_url(cfg_.helper.logo_file)) logo_ = std::move(*logo);
    else note("logo not shown: " + logo.error());
  }
}

PageFrame Handler::frame() {
  ensure_brand();
  const HelperConfig& h = cfg_.helper;
  return {site_name_, env_.request_id, &lang(), style_, {h.help_contact, h.help_url, logo_, h.banner}};
}

std::string Handler::csp(std::string_view script_hash, const std::vector<std::string>& form_targets) {
  ensure_brand();
  // Unbranded (no primary_color), the style is the fixed text whose digest the compiler made.
  const std::string style_hash = style_ == kPageStyle ? csp_hash(kPageStyleSha256) : csp_hash(style_);
  return build_csp(style_hash, script_hash, form_targets, !logo_.empty());
}

std::string Handler::route_url(std::string_view what) const {
  std::string u = req_.script_name + "/" + std::string(what);
  if (!route_.profile.empty()) u += "/" + route_.profile;
  return u;
}

bool Handler::served_over_https() const {
  if (req_.https) return true;
  // A TLS-terminating proxy says so; only a trusted one is believed.
  auto peer = parse_ip(req_.remote_addr);
  return peer && cfg_.network.trusted_proxies.contains(*peer) && ascii_lower(trim(req_.forwarded_proto)) == "https";
}

void Handler::note(std::string_view s) {
  if (!notes_.empty()) notes_ += "; ";
  notes_ += s;
}

// Zendesk's locale_id from a query string or form, as a hint.
void Handler::hint_from_locale_id(const FormFields& fields) {
  const std::string* id = form_get(fields, "locale_id");
  if (!id || id->empty() || id->size() > 9 || !std::all_of(id->begin(), id->end(), [](char c) { return c >= '0' && c <= '9'; }))
    return;
  std::string tag = zendesk_locale_tag(std::stoll(*id), cfg_.helper.locale_ids);
  if (!tag.empty()) lang_hint_ = tag;
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

// Refusals made before the config is read (405, 413, 415, 400, 404) still
// show the site's name, language settings, colours and help contact: the
// config is read for the page once the decision is made, and a config
// that does not load leaves the built-in look.
void Handler::config_for_page() {
  if (config_tried_) return;
  config_tried_ = true;
  if (auto loaded = load_config(); !loaded) cfg_ = Config{};
}

std::string Handler::checked_return_to(const std::string* raw) {
  if (!raw || raw->empty()) return {};
  if (auto ok = validate_return_to(*raw, cfg_.zendesk)) return *ok;
  note("return_to " + quote_for_log(*raw, 200) + " dropped: not the Zendesk host or a return_to_hosts entry");
  return {};
}

Response Handler::page(int status, std::string_view title, std::string_view text, int prio, std::string log,
                       std::string_view link_url, std::string_view link_label, bool show_request_id) {
  return page(status, Message{title, text, {}, link_url, link_label, show_request_id}, prio, std::move(log));
}

Response Handler::page(int status, Message m, int prio, std::string log) {
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

Response Handler::finish(Response r) {
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
  r.log_format = cfg_.log.format;
  if (event_) {
    if (cfg_.metrics.enabled) r.metrics_file = cfg_.metrics.cgi_file;
    r.profile_slot = metrics::profile_slot(cfg_.profile_names, route_.profile);
    event_->client = client_;
    event_->profile = route_.profile;
    r.event = std::move(event_);
  }
  return r;
}

void Handler::decided(audit::Way way, audit::Outcome outcome, std::string_view user, std::string cause) {
  audit::Event ev;
  ev.time = env_.now;
  ev.request_id = env_.request_id;
  ev.way = way;
  ev.outcome = outcome;
  ev.account = audit::account_for_event(trim(user));
  ev.cause = std::move(cause);
  event_ = std::move(ev);
}

void Handler::decided(audit::Way way, const LoginOutcome& out, std::string_view user) {
  // The broker's answer was decided, and written, by the broker.
  if (out.answered_by_broker) return;
  // A further prompt is no decision; a conversation that is over was the broker's (its event).
  if (auto o = audit_outcome(out.status)) decided(way, *o, user, out.detail);
}

Response Handler::not_found() {
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

Response Handler::bad_request(std::string why) {
  return page(400,
              {N_("Bad request"), N_("Your browser sent a request this page cannot use."),
               N_("Go back to Zendesk and start signing in again. If it keeps happening, contact your IT "
                  "support and give them the request id below.")},
              LOG_NOTICE, "400 " + why);
}

Response Handler::server_error(int status, std::string why) {
  return page(status,
              {status == 503 ? N_("Sign-in unavailable") : N_("Sign-in is misconfigured"),
               N_("Sign-in is not working right now. This is not a problem with your account or password."),
               N_("Try again in a few minutes. If it keeps happening, contact your IT support and give them "
                  "the request id below.")},
              LOG_ERR, std::to_string(status) + " " + why);
}

Response Handler::refused(std::string_view text, std::string log) {
  return page(403,
              {N_("Sign-in refused"), text,
               N_("If you think you should have access, contact your IT support and give them the request id "
                  "below.")},
              LOG_NOTICE, std::move(log));
}

// The client's address is outside network.ip_ranges.
Response Handler::outside_ranges(std::string log) {
  return page(403,
              {N_("Not available from here"), N_("Sign-in to Zendesk is only available from the company network."),
               N_("Connect to the company network (in the office, or through the VPN) and try again. If you are "
                  "connected and still see this, contact your IT support and give them the request id below.")},
              LOG_NOTICE, std::move(log));
}

}  // namespace zsso::cgi
