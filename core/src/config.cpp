// SPDX-License-Identifier: BSD-3-Clause
#include "zsso/config.hpp"

#include <algorithm>
#include <cstdlib>
#include <initializer_list>
#include <limits>
#include <memory>
#include <unordered_set>

#include <nlohmann/json.hpp>

#include "zsso/claims.hpp"
#include "zsso/files.hpp"
#include "zsso/text.hpp"

namespace zsso {

namespace {

using J = nlohmann::ordered_json;

// Walks one JSON document, filling a Config and collecting every problem with
// its key path, so `zendesk-sso check` can name them all at once.
class Reader {
 public:
  std::vector<std::string> errors;

  void fail(const std::string& path, const std::string& what) { errors.push_back(path + ": " + what); }

  static std::string join(const std::string& path, std::string_view key) {
    return path.empty() ? std::string(key) : path + "." + std::string(key);
  }

  // Object with only the known keys; false if it is not an object.
  bool object(const J& j, const std::string& path, std::initializer_list<std::string_view> known) {
    if (!j.is_object()) { fail(path.empty() ? "(top level)" : path, "must be an object"); return false; }
    for (const auto& [k, v] : j.items()) {
      bool ok = false;
      for (auto kk : known) ok = ok || kk == k;
      if (!ok) {
        std::string list;
        for (auto kk : known) { if (!list.empty()) list += ", "; list += kk; }
        fail(join(path, k), "unknown key (known here: " + list + ")");
      }
    }
    return true;
  }

  const J* find(const J& obj, std::string_view key) {
    auto it = obj.find(key);
    return it == obj.end() ? nullptr : &*it;
  }

  void string(const J& obj, const std::string& path, std::string_view key, std::string& out) {
    if (const J* v = find(obj, key)) {
      if (!v->is_string()) { fail(join(path, key), "must be a string"); return; }
      const auto& s = v->get_ref<const std::string&>();
      if (has_control_chars(s)) { fail(join(path, key), "contains a control character"); return; }
      out = s;
    }
  }
  void opt_string(const J& obj, const std::string& path, std::string_view key, std::optional<std::string>& out) {
    if (find(obj, key)) { std::string s; string(obj, path, key, s); out = s; }
  }
  void boolean(const J& obj, const std::string& path, std::string_view key, bool& out) {
    if (const J* v = find(obj, key)) {
      if (!v->is_boolean()) { fail(join(path, key), "must be true or false"); return; }
      out = v->get<bool>();
    }
  }
  bool integer_value(const J& v, const std::string& p, std::int64_t lo, std::int64_t hi, std::int64_t& out) {
    if (!v.is_number_integer()) { fail(p, "must be an integer"); return false; }
    if (v.is_number_unsigned() && v.get<std::uint64_t>() > static_cast<std::uint64_t>(hi)) {
      fail(p, "must be between " + std::to_string(lo) + " and " + std::to_string(hi)); return false;
    }
    auto x = v.get<std::int64_t>();
    if (x < lo || x > hi) { fail(p, "must be between " + std::to_string(lo) + " and " + std::to_string(hi)); return false; }
    out = x;
    return true;
  }
  void integer(const J& obj, const std::string& path, std::string_view key, std::int64_t lo, std::int64_t hi, std::int64_t& out) {
    if (const J* v = find(obj, key)) integer_value(*v, join(path, key), lo, hi, out);
  }
  void opt_integer(const J& obj, const std::string& path, std::string_view key, std::int64_t lo, std::int64_t hi,
                   std::optional<std::int64_t>& out) {
    if (const J* v = find(obj, key)) {
      std::int64_t x = 0;
      if (integer_value(*v, join(path, key), lo, hi, x)) out = x;
    }
  }
  // A list of strings; with split_spaces a single string "a b c" is accepted too.
  void string_list(const J& obj, const std::string& path, std::string_view key, std::vector<std::string>& out,
                   bool split_spaces = false) {
    const J* v = find(obj, key);
    if (!v) return;
    std::string p = join(path, key);
    out.clear();
    if (split_spaces && v->is_string()) { out.push_back(v->get<std::string>()); return; }
    if (!v->is_array()) { fail(p, split_spaces ? "must be a list of strings or one space-separated string" : "must be a list of strings"); return; }
    for (std::size_t i = 0; i < v->size(); ++i) {
      const J& e = (*v)[i];
      std::string ep = p + "[" + std::to_string(i) + "]";
      if (!e.is_string()) { fail(ep, "must be a string"); continue; }
      const auto& s = e.get_ref<const std::string&>();
      if (s.empty() || has_control_chars(s)) { fail(ep, "must be a non-empty string without control characters"); continue; }
      out.push_back(s);
    }
  }
  void templ(const std::string& p, const std::string& t) {
    if (auto r = check_template(t); !r) fail(p, quote_for_log(t) + ": " + r.error());
  }
};

bool is_dns_label_text(std::string_view s, bool dots) {
  if (s.empty() || s.size() > 253) return false;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || (dots && c == '.');
    if (!ok) return false;
  }
  return s.front() != '-' && s.back() != '-' && s.front() != '.' && s.back() != '.' &&
         s.find("..") == std::string_view::npos;
}

// A relative path is relative to the config file's folder, so a config and
// its secret files travel together.
void beside_config(std::string& path, std::string_view source) {
  if (path.empty() || path.front() == '/') return;
  auto slash = source.rfind('/');
  if (slash != std::string_view::npos) path = std::string(source.substr(0, slash + 1)) + path;
}

bool is_role(std::string_view r) { return r == "end_user" || r == "agent" || r == "admin"; }

void read_zendesk(Reader& rd, const J& j, ZendeskConfig& z, std::string_view source) {
  const std::string p = "zendesk";
  if (!rd.object(j, p, {"subdomain", "secret_file", "delivery", "return_to_hosts", "exp_seconds"})) return;
  rd.string(j, p, "subdomain", z.subdomain);
  z.subdomain = ascii_lower(z.subdomain);
  if (!rd.find(j, "subdomain")) rd.fail("zendesk.subdomain", "required (the SUBDOMAIN of SUBDOMAIN.zendesk.com)");
  else if (!is_dns_label_text(z.subdomain, false) || z.subdomain.size() > 63)
    rd.fail("zendesk.subdomain", quote_for_log(z.subdomain) + " is not a subdomain (letters, digits, '-'; just the part before .zendesk.com)");
  rd.string(j, p, "secret_file", z.secret_file);
  if (z.secret_file.empty()) rd.fail("zendesk.secret_file", "must not be empty");
  else beside_config(z.secret_file, source);
  std::string delivery = "post";
  rd.string(j, p, "delivery", delivery);
  if (delivery == "post") z.delivery = Delivery::post;
  else if (delivery == "get") z.delivery = Delivery::get;
  else rd.fail("zendesk.delivery", quote_for_log(delivery) + " must be \"post\" (recommended) or \"get\" (deprecated by Zendesk)");
  rd.string_list(j, p, "return_to_hosts", z.return_to_hosts);
  for (std::size_t i = 0; i < z.return_to_hosts.size(); ++i) {
    z.return_to_hosts[i] = ascii_lower(z.return_to_hosts[i]);
    if (!is_dns_label_text(z.return_to_hosts[i], true))
      rd.fail("zendesk.return_to_hosts[" + std::to_string(i) + "]",
              quote_for_log(z.return_to_hosts[i]) + " is not a host name (no scheme, port or path)");
  }
  rd.integer(j, p, "exp_seconds", 0, 3600, z.exp_seconds);
}

void read_network(Reader& rd, const J& j, NetworkConfig& n) {
  const std::string p = "network";
  if (!rd.object(j, p, {"ip_ranges", "trusted_proxies"})) return;
  rd.string_list(j, p, "ip_ranges", n.ip_ranges, true);
  rd.string_list(j, p, "trusted_proxies", n.trusted_proxies_text, true);
}

void read_access(Reader& rd, const J& j, AccessConfig& a) {
  const std::string p = "access";
  if (!rd.object(j, p, {"min_uid", "allow_root", "allowed_groups", "denied_groups"})) return;
  rd.integer(j, p, "min_uid", 0, std::numeric_limits<std::uint32_t>::max() - 1, a.min_uid);
  rd.boolean(j, p, "allow_root", a.allow_root);
  rd.string_list(j, p, "allowed_groups", a.allowed_groups);
  rd.string_list(j, p, "denied_groups", a.denied_groups);
}

void read_claims(Reader& rd, const J& j, ClaimsConfig& c) {
  const std::string p = "claims";
  if (!rd.object(j, p, {"email", "name", "external_id", "organization", "organization_id", "organizations",
                        "organization_ids", "tags", "tags_from_groups", "role", "role_by_group",
                        "custom_role_id", "locale", "locale_id", "phone", "remote_photo_url", "user_fields"}))
    return;
  constexpr std::int64_t kMaxId = std::numeric_limits<std::int64_t>::max();
  rd.string(j, p, "email", c.email);
  rd.templ("claims.email", c.email);
  rd.string(j, p, "name", c.name);
  rd.templ("claims.name", c.name);
  for (auto [key, field] : {std::pair{"external_id", &c.external_id}, std::pair{"organization", &c.organization},
                            std::pair{"phone", &c.phone}, std::pair{"remote_photo_url", &c.remote_photo_url}}) {
    rd.opt_string(j, p, key, *field);
    if (*field) rd.templ(Reader::join(p, key), **field);
  }
  rd.opt_integer(j, p, "organization_id", 1, kMaxId, c.organization_id);
  rd.string_list(j, p, "organizations", c.organizations);
  for (std::size_t i = 0; i < c.organizations.size(); ++i)
    if (c.organizations[i].find(',') != std::string::npos)
      rd.fail("claims.organizations[" + std::to_string(i) + "]", "must not contain ',' (Zendesk joins the list with commas)");
  if (const J* v = rd.find(j, "organization_ids")) {
    if (!v->is_array()) rd.fail("claims.organization_ids", "must be a list of integers");
    else
      for (std::size_t i = 0; i < v->size(); ++i) {
        std::int64_t x = 0;
        if (rd.integer_value((*v)[i], "claims.organization_ids[" + std::to_string(i) + "]", 1, kMaxId, x))
          c.organization_ids.push_back(x);
      }
  }
  rd.string_list(j, p, "tags", c.tags);
  rd.string_list(j, p, "tags_from_groups", c.tags_from_groups);
  rd.opt_string(j, p, "role", c.role);
  if (c.role && !is_role(*c.role)) rd.fail("claims.role", quote_for_log(*c.role) + " must be end_user, agent or admin");
  if (const J* v = rd.find(j, "role_by_group")) {
    if (!v->is_object()) rd.fail("claims.role_by_group", "must be an object {\"group\": \"role\"}");
    else
      for (const auto& [g, r] : v->items()) {
        std::string rp = "claims.role_by_group." + g;
        if (!r.is_string() || !is_role(r.get_ref<const std::string&>())) rd.fail(rp, "must be \"end_user\", \"agent\" or \"admin\"");
        else c.role_by_group.emplace_back(g, r.get<std::string>());
      }
  }
  rd.opt_integer(j, p, "custom_role_id", 1, kMaxId, c.custom_role_id);
  rd.opt_integer(j, p, "locale", 1, kMaxId, c.locale);
  rd.opt_integer(j, p, "locale_id", 1, kMaxId, c.locale_id);
  if (const J* v = rd.find(j, "user_fields")) {
    if (!v->is_object()) rd.fail("claims.user_fields", "must be an object keyed by custom field key");
    else {
      auto fields = std::make_shared<J>(J::object());
      for (const auto& [k, val] : v->items()) {
        std::string fp = "claims.user_fields." + k;
        if (val.is_object()) { rd.fail(fp, "must be a string, number, boolean, list or null"); continue; }
        if (val.is_string()) rd.templ(fp, val.get_ref<const std::string&>());
        (*fields)[k] = val;
      }
      c.user_fields = std::move(fields);
    }
  }
}

void read_pam(Reader& rd, const J& j, PamConfig& pc) {
  if (!rd.object(j, "pam", {"service"})) return;
  rd.string(j, "pam", "service", pc.service);
  bool ok = !pc.service.empty() && pc.service.size() <= 64;
  for (char ch : pc.service)
    ok = ok && ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                ch == '-' || ch == '_' || ch == '.');
  if (!ok || pc.service.front() == '.') rd.fail("pam.service", quote_for_log(pc.service) + " is not a PAM service name");
}

void read_broker(Reader& rd, const J& j, BrokerConfig& b) {
  if (!rd.object(j, "broker", {"socket", "allowed_peers", "prompt_timeout", "sign_in_deadline", "max_sign_ins",
                               "max_failures", "failure_window", "ban_seconds", "max_failures_per_address",
                               "failure_delay_ms", "change_expired_passwords", "max_sign_ins_per_address",
                               "max_conversations_per_address", "max_conversations_per_account",
                               "reserved_sign_ins", "limits_exempt", "busy_after_seconds"}))
    return;
  rd.string(j, "broker", "socket", b.socket);
  // The conversation sockets beside it ("conv/" + 32 hex digits) must fit too.
  if (!b.socket.empty() && (b.socket.front() != '/' || b.socket.size() > 70))
    rd.fail("broker.socket", "must be an absolute path of at most 70 bytes (conversation sockets live beside it)");
  rd.string_list(j, "broker", "allowed_peers", b.allowed_peers);
  rd.integer(j, "broker", "prompt_timeout", 5, 3600, b.prompt_timeout);
  rd.integer(j, "broker", "sign_in_deadline", 10, 7200, b.sign_in_deadline);
  rd.integer(j, "broker", "max_sign_ins", 1, 4096, b.max_sign_ins);
  rd.integer(j, "broker", "max_failures", 0, 1000, b.max_failures);
  rd.integer(j, "broker", "failure_window", 1, 86400, b.failure_window);
  rd.integer(j, "broker", "ban_seconds", 1, 3600, b.ban_seconds);
  rd.integer(j, "broker", "max_failures_per_address", 0, 100000, b.max_failures_per_address);
  rd.integer(j, "broker", "failure_delay_ms", 0, 10000, b.failure_delay_ms);
  rd.boolean(j, "broker", "change_expired_passwords", b.change_expired_passwords);
  rd.integer(j, "broker", "max_sign_ins_per_address", 1, 4096, b.max_sign_ins_per_address);
  rd.integer(j, "broker", "max_conversations_per_address", 1, 4096, b.max_conversations_per_address);
  rd.integer(j, "broker", "max_conversations_per_account", 1, 4096, b.max_conversations_per_account);
  rd.integer(j, "broker", "reserved_sign_ins", 0, 4095, b.reserved_sign_ins);
  if (b.reserved_sign_ins >= b.max_sign_ins)
    rd.fail("broker.reserved_sign_ins", "must be below broker.max_sign_ins (else no conversation is ever held)");
  rd.string_list(j, "broker", "limits_exempt", b.limits_exempt_text);
  rd.integer(j, "broker", "busy_after_seconds", 1, 20, b.busy_after_seconds);
  if (b.sign_in_deadline <= b.prompt_timeout)
    rd.fail("broker.sign_in_deadline", "must be longer than broker.prompt_timeout");
}

void read_helper(Reader& rd, const J& j, HelperConfig& h) {
  if (!rd.object(j, "helper", {"trust_remote_user", "site_name", "logout_redirect", "csrf_key_file",
                               "password_change_url", "health_from_anywhere", "help_contact", "help_url",
                               "default_language", "locale_dir", "locale_ids", "logo_file", "primary_color", "banner"}))
    return;
  rd.boolean(j, "helper", "trust_remote_user", h.trust_remote_user);
  rd.boolean(j, "helper", "health_from_anywhere", h.health_from_anywhere);
  rd.string(j, "helper", "site_name", h.site_name);
  if (!is_valid_utf8(h.site_name)) rd.fail("helper.site_name", "is not valid UTF-8");
  rd.string(j, "helper", "logout_redirect", h.logout_redirect);
  rd.string(j, "helper", "csrf_key_file", h.csrf_key_file);   // retired: read only so check can warn
  const auto& u = h.logout_redirect;
  if (!u.empty() && u.rfind("https://", 0) != 0 && u.rfind("http://", 0) != 0 &&
      !(u.front() == '/' && (u.size() == 1 || (u[1] != '/' && u[1] != '\\'))))
    rd.fail("helper.logout_redirect", quote_for_log(u) + " must be an http(s) URL or a path on this host");
  rd.string(j, "helper", "password_change_url", h.password_change_url);
  const auto& pc = h.password_change_url;
  if (!pc.empty() && ((pc.rfind("https://", 0) != 0 && pc.rfind("http://", 0) != 0) || has_control_chars(pc) ||
                      !is_valid_utf8(pc)))
    rd.fail("helper.password_change_url", quote_for_log(pc) + " must be an http(s) URL (%u becomes the user name)");

  for (auto [key, field] : {std::pair{"help_contact", &HelperConfig::help_contact},
                            std::pair{"banner", &HelperConfig::banner}}) {
    rd.string(j, "helper", key, h.*field);
    if (!is_valid_utf8(h.*field)) rd.fail(std::string("helper.") + key, "is not valid UTF-8");
    if ((h.*field).size() > 1000) rd.fail(std::string("helper.") + key, "is longer than 1000 bytes");
  }
  rd.string(j, "helper", "help_url", h.help_url);
  if (const auto& hu = h.help_url; !hu.empty()) {
    const bool scheme = hu.rfind("https://", 0) == 0 || hu.rfind("http://", 0) == 0 || hu.rfind("mailto:", 0) == 0;
    const bool printable = std::all_of(hu.begin(), hu.end(), [](char c) { return c > 0x20 && c < 0x7f; });
    if (!scheme || !printable || hu.size() > 2000)
      rd.fail("helper.help_url", quote_for_log(hu) + " must be an https://, http:// or mailto: URL without spaces");
  }
  rd.string(j, "helper", "default_language", h.default_language);
  if (!is_language_tag(h.default_language))
    rd.fail("helper.default_language", quote_for_log(h.default_language) + " is not a language tag like en, de or pt-BR");
  rd.string(j, "helper", "locale_dir", h.locale_dir);
  if (!h.locale_dir.empty() && h.locale_dir.front() != '/') rd.fail("helper.locale_dir", "must be an absolute path");
  if (const J* ids = rd.find(j, "locale_ids")) {
    if (!ids->is_object()) {
      rd.fail("helper.locale_ids", "must be an object like {\"19\": \"pt-BR\"}");
    } else {
      h.locale_ids.clear();
      for (const auto& [k, v] : ids->items()) {
        const std::string p = "helper.locale_ids." + k;
        const bool digits = !k.empty() && k.size() <= 9 && std::all_of(k.begin(), k.end(), [](char c) { return c >= '0' && c <= '9'; });
        if (!digits) { rd.fail(p, "the key must be a Zendesk locale id (a number)"); continue; }
        if (!v.is_string() || !is_language_tag(v.get_ref<const std::string&>())) {
          rd.fail(p, "must be a language tag like de or pt-BR");
          continue;
        }
        h.locale_ids.emplace_back(std::stoll(k), v.get<std::string>());
      }
    }
  }
  rd.string(j, "helper", "logo_file", h.logo_file);
  if (!h.logo_file.empty() && h.logo_file.front() != '/') rd.fail("helper.logo_file", "must be an absolute path");
  rd.string(j, "helper", "primary_color", h.primary_color);
  if (const auto& c = h.primary_color; !c.empty()) {
    const bool ok = c.size() == 7 && c[0] == '#' && std::all_of(c.begin() + 1, c.end(), [](char x) {
      return (x >= '0' && x <= '9') || (x >= 'a' && x <= 'f') || (x >= 'A' && x <= 'F');
    });
    if (!ok) rd.fail("helper.primary_color", quote_for_log(c) + " must be a colour like #1f73b7");
  }
}

void read_api(Reader& rd, const J& j, ApiConfig& a, std::string_view source) {
  const std::string p = "api";
  a.present = true;
  if (!rd.object(j, p, {"token_file", "email", "oauth_token_file", "email_domains", "include_admins",
                        "max_change_fraction"}))
    return;
  rd.string(j, p, "token_file", a.token_file);
  rd.string(j, p, "email", a.email);
  rd.string(j, p, "oauth_token_file", a.oauth_token_file);
  beside_config(a.token_file, source);
  beside_config(a.oauth_token_file, source);
  if (a.token_file.empty() == a.oauth_token_file.empty())
    rd.fail("api", "needs exactly one of token_file (with email) or oauth_token_file");
  if (!a.token_file.empty() && a.oauth_token_file.empty()) {
    auto at = a.email.find('@');
    if (a.email.empty()) rd.fail("api.email", "required with api.token_file (the Zendesk admin the token is used as)");
    else if (at == std::string::npos || at == 0 || at + 1 == a.email.size() || a.email.find_first_of(" :/") != std::string::npos)
      rd.fail("api.email", quote_for_log(a.email) + " is not an email address");
  } else if (a.token_file.empty() && !a.email.empty()) {
    rd.fail("api.email", "goes with api.token_file; an OAuth token carries its user");
  }
  rd.string_list(j, p, "email_domains", a.email_domains);
  for (std::size_t i = 0; i < a.email_domains.size(); ++i) {
    auto& d = a.email_domains[i];
    d = ascii_lower(d);
    if (!is_dns_label_text(d, true))
      rd.fail("api.email_domains[" + std::to_string(i) + "]", quote_for_log(d) + " is not a domain (no '@')");
  }
  if (rd.find(j, "email_domains") && a.email_domains.empty())
    rd.fail("api.email_domains", "must name at least one domain");
  rd.boolean(j, p, "include_admins", a.include_admins);
  if (const J* v = rd.find(j, "max_change_fraction")) {
    if (!v->is_number() || v->get<double>() <= 0.0 || v->get<double>() > 1.0)
      rd.fail("api.max_change_fraction", "must be a number above 0 and at most 1 (e.g. 0.1 for 10 %)");
    else a.max_change_fraction = v->get<double>();
  }
}

void read_session(Reader& rd, const J& j, SessionConfig& s) {
  if (!rd.object(j, "session", {"max_seconds", "idle_seconds", "key_file", "previous_key_file"})) return;
  rd.integer(j, "session", "max_seconds", 0, 31 * 86400, s.max_seconds);
  rd.integer(j, "session", "idle_seconds", 0, 31 * 86400, s.idle_seconds);
  rd.string(j, "session", "key_file", s.key_file);
  rd.string(j, "session", "previous_key_file", s.previous_key_file);
  for (auto [key, path] : {std::pair{"key_file", &s.key_file}, std::pair{"previous_key_file", &s.previous_key_file}})
    if (!path->empty() && path->front() != '/') rd.fail(std::string("session.") + key, "must be an absolute path");
  if (!s.previous_key_file.empty() && s.previous_key_file == s.key_file)
    rd.fail("session.previous_key_file", "is the same file as session.key_file");
}

void read_log(Reader& rd, const J& j, LogConfig& l) {
  if (!rd.object(j, "log", {"format"})) return;
  std::string format = "text";
  rd.string(j, "log", "format", format);
  if (format == "text") l.format = LogFormat::text;
  else if (format == "json") l.format = LogFormat::json;
  else rd.fail("log.format", quote_for_log(format) + " must be \"text\" (syslog lines) or \"json\" (one JSON object a line)");
}

void read_metrics(Reader& rd, const J& j, MetricsConfig& m) {
  if (!rd.object(j, "metrics", {"enabled", "scrapers", "cgi_file", "sync_file"})) return;
  rd.boolean(j, "metrics", "enabled", m.enabled);
  rd.string_list(j, "metrics", "scrapers", m.scrapers_text);
  rd.string(j, "metrics", "cgi_file", m.cgi_file);
  if (!m.cgi_file.empty() && m.cgi_file.front() != '/') rd.fail("metrics.cgi_file", "must be an absolute path");
  rd.string(j, "metrics", "sync_file", m.sync_file);
  if (!m.sync_file.empty() && m.sync_file.front() != '/') rd.fail("metrics.sync_file", "must be an absolute path");
  auto parsed = CidrSet::parse(m.scrapers_text, "metrics.scrapers");
  if (parsed) m.scrapers = std::move(*parsed);
  else rd.errors.push_back(parsed.error());
}

}  // namespace

std::optional<std::string> webauthn_origin_host(std::string_view o) {
  std::string_view rest;
  bool https = o.rfind("https://", 0) == 0;
  if (https) rest = o.substr(8);
  else if (o.rfind("http://", 0) == 0) rest = o.substr(7);
  else return std::nullopt;
  auto colon = rest.find(':');
  std::string_view host = rest.substr(0, colon);
  if (colon != std::string_view::npos) {
    std::string_view port = rest.substr(colon + 1);
    if (port.empty() || port.size() > 5 || port.front() == '0' ||
        !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
        std::stoul(std::string(port)) > 65535)
      return std::nullopt;
  }
  if (!is_dns_label_text(host, true)) return std::nullopt;
  if (!https && host != "localhost") return std::nullopt;
  return std::string(host);
}

bool on_rp_id(std::string_view host, std::string_view rp_id) {
  return host == rp_id ||
         (host.size() > rp_id.size() && host.ends_with(rp_id) && host[host.size() - rp_id.size() - 1] == '.');
}

std::optional<std::string> aaguid_bytes(std::string_view uuid) {
  if (uuid.size() != 36 || uuid[8] != '-' || uuid[13] != '-' || uuid[18] != '-' || uuid[23] != '-')
    return std::nullopt;
  std::string hex;
  for (char c : uuid)
    if (c != '-') hex += static_cast<char>(c >= 'A' && c <= 'F' ? c - 'A' + 'a' : c);
  auto bytes = bytes_from_hex_lower(hex);
  if (!bytes || bytes->size() != 16) return std::nullopt;
  return bytes;
}

namespace {

// "YYYY-MM-DD", a day that exists (2027-02-29 does not).
bool is_calendar_date(std::string_view d) {
  if (d.size() != 10 || d[4] != '-' || d[7] != '-') return false;
  for (std::size_t i : {0, 1, 2, 3, 5, 6, 8, 9})
    if (d[i] < '0' || d[i] > '9') return false;
  auto num = [&](std::size_t at, std::size_t n) {
    int v = 0;
    for (std::size_t i = at; i < at + n; ++i) v = v * 10 + (d[i] - '0');
    return v;
  };
  const int year = num(0, 4), month = num(5, 2), day = num(8, 2);
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (year < 1970 || month < 1 || month > 12 || day < 1) return false;
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return day <= kDays[month - 1] + (month == 2 && leap ? 1 : 0);
}

void read_webauthn(Reader& rd, const J& j, WebauthnConfig& w) {
  const std::string p = "webauthn";
  if (!rd.object(j, p, {"rp_id", "origins", "user_verification", "required_groups", "authfile", "first_key",
                        "tofu_until", "passwordless", "aaguids"}))
    return;
  rd.string(j, p, "rp_id", w.rp_id);
  if (!rd.find(j, "rp_id")) rd.fail("webauthn.rp_id", "required (the sign-in host name, or a parent domain of it)");
  else if (!is_dns_label_text(w.rp_id, true))
    rd.fail("webauthn.rp_id", quote_for_log(w.rp_id) + " is not a host name in lower case (no scheme, port or path)");
  rd.string_list(j, p, "origins", w.origins);
  if (w.origins.empty() && !rd.find(j, "origins"))
    rd.fail("webauthn.origins", "required (the sign-in page's origin, e.g. \"https://sso.example.com\")");
  else if (w.origins.empty())
    rd.fail("webauthn.origins", "must name at least one origin");
  for (std::size_t i = 0; i < w.origins.size(); ++i) {
    const std::string ep = "webauthn.origins[" + std::to_string(i) + "]";
    auto host = webauthn_origin_host(w.origins[i]);
    if (!host)
      rd.fail(ep, quote_for_log(w.origins[i]) + " is not an origin like https://sso.example.com (http only for localhost; "
                                              "no path, no trailing slash)");
    else if (!w.rp_id.empty() && !on_rp_id(*host, w.rp_id))
      rd.fail(ep, quote_for_log(w.origins[i]) + " is not on webauthn.rp_id " + quote_for_log(w.rp_id) +
                      " or a host below it (browsers refuse such a key)");
  }
  std::string uv = "preferred";
  rd.string(j, p, "user_verification", uv);
  if (uv == "preferred") w.user_verification = WebauthnConfig::Verification::preferred;
  else if (uv == "required") w.user_verification = WebauthnConfig::Verification::required;
  else if (uv == "discouraged") w.user_verification = WebauthnConfig::Verification::discouraged;
  else rd.fail("webauthn.user_verification", quote_for_log(uv) + " must be \"preferred\", \"required\" or \"discouraged\"");
  rd.string_list(j, p, "required_groups", w.required_groups);
  rd.string(j, p, "authfile", w.authfile);
  if (w.authfile.empty() || w.authfile.front() != '/' || w.authfile.back() == '/')
    rd.fail("webauthn.authfile", "must be an absolute path to a file");
  std::string first = "invite";
  rd.string(j, p, "first_key", first);
  if (first == "invite") w.first_key = WebauthnConfig::FirstKey::invite;
  else if (first == "second_factor") w.first_key = WebauthnConfig::FirstKey::second_factor;
  else if (first == "tofu") w.first_key = WebauthnConfig::FirstKey::tofu;
  else rd.fail("webauthn.first_key", quote_for_log(first) + " must be \"invite\", \"second_factor\" or \"tofu\"");
  rd.string(j, p, "tofu_until", w.tofu_until);
  if (w.first_key == WebauthnConfig::FirstKey::tofu && w.tofu_until.empty())
    rd.fail("webauthn.tofu_until", "required with first_key \"tofu\" (the last day, \"YYYY-MM-DD\", a first key may be "
                                   "enrolled with the password alone)");
  else if (!w.tofu_until.empty() && w.first_key != WebauthnConfig::FirstKey::tofu)
    rd.fail("webauthn.tofu_until", "only with first_key \"tofu\"");
  else if (!w.tofu_until.empty() && !is_calendar_date(w.tofu_until))
    rd.fail("webauthn.tofu_until", quote_for_log(w.tofu_until) + " is not a date like \"2027-01-31\"");
  rd.boolean(j, p, "passwordless", w.passwordless);
  rd.string_list(j, p, "aaguids", w.aaguids);
  for (std::size_t i = 0; i < w.aaguids.size(); ++i)
    if (!aaguid_bytes(w.aaguids[i]))
      rd.fail("webauthn.aaguids[" + std::to_string(i) + "]",
              quote_for_log(w.aaguids[i]) + " is not an AAGUID like \"cb69481e-8ff7-4039-93ec-0a2729a154a8\"");
}

// One document (base, or base merged with a profile) into a Config. With the
// base's network section, range lists equal to the base's are copied, not
// parsed again (their errors, if any, were already reported for the base).
void read_document(Reader& rd, const J& j, Config& cfg, const NetworkConfig* base_net = nullptr) {
  if (!rd.object(j, "", {"version", "zendesk", "network", "access", "claims", "pam", "broker", "helper", "api",
                        "session", "log", "metrics", "webauthn", "profiles"}))
    return;
  // Compared as int64: get<int>() would narrow 4294967297 to 1.
  if (const J* v = rd.find(j, "version"); v && !(v->is_number_integer() && v->get<std::int64_t>() == 1))
    rd.fail("version", "only version 1 is understood");
  if (const J* v = rd.find(j, "zendesk")) read_zendesk(rd, *v, cfg.zendesk, cfg.source);
  else rd.fail("zendesk", "required (subdomain and secret_file)");
  if (const J* v = rd.find(j, "network")) read_network(rd, *v, cfg.network);
  if (const J* v = rd.find(j, "access")) read_access(rd, *v, cfg.access);
  if (const J* v = rd.find(j, "claims")) read_claims(rd, *v, cfg.claims);
  if (const J* v = rd.find(j, "pam")) read_pam(rd, *v, cfg.pam);
  if (const J* v = rd.find(j, "broker")) read_broker(rd, *v, cfg.broker);
  if (const J* v = rd.find(j, "helper")) read_helper(rd, *v, cfg.helper);
  if (const J* v = rd.find(j, "api")) read_api(rd, *v, cfg.api, cfg.source);
  if (const J* v = rd.find(j, "session")) read_session(rd, *v, cfg.session);
  if (const J* v = rd.find(j, "log")) read_log(rd, *v, cfg.log);
  if (const J* v = rd.find(j, "metrics")) read_metrics(rd, *v, cfg.metrics);
  if (const J* v = rd.find(j, "webauthn")) read_webauthn(rd, *v, cfg.webauthn);

  // Each range list: the base's set when the text equals the base's, else parsed.
  auto ranges = [&](std::vector<std::string> NetworkConfig::*text, CidrSet NetworkConfig::*set, const char* key) {
    NetworkConfig& net = cfg.network;
    if (base_net && net.*text == base_net->*text) {
      net.*set = base_net->*set;
      return;
    }
    auto parsed = CidrSet::parse(net.*text, key);
    if (parsed) net.*set = std::move(*parsed);
    else rd.errors.push_back(parsed.error());
  };
  ranges(&NetworkConfig::ip_ranges, &NetworkConfig::ranges, "network.ip_ranges");
  ranges(&NetworkConfig::trusted_proxies_text, &NetworkConfig::trusted_proxies, "network.trusted_proxies");
  if (auto exempt = CidrSet::parse(cfg.broker.limits_exempt_text, "broker.limits_exempt")) cfg.broker.limits_exempt = std::move(*exempt);
  else rd.errors.push_back(exempt.error());
}

// Objects merge key by key; anything else replaces.
void merge(J& base, const J& over) {
  for (const auto& [k, v] : over.items()) {
    auto it = base.find(k);
    if (it != base.end() && it->is_object() && v.is_object()) merge(*it, v);
    else base[k] = v;
  }
}

bool is_profile_name(std::string_view n) {
  if (n.empty() || n.size() > 64) return false;
  for (char c : n)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
      return false;
  return true;
}

std::string prefix_errors(const std::vector<std::string>& errs, const std::string& prefix) {
  std::string out;
  for (const auto& e : errs) {
    if (!out.empty()) out += '\n';
    out += prefix + e;
  }
  return out;
}

// Deeper than any real config nests. nlohmann::json copies and prints trees
// recursively, so a file of a million '[' would exhaust the stack of whatever
// reads it (sshd or the CGI, through pam_zendesk.so): refused before parsing.
constexpr int kMaxNesting = 64;

// One pass over the text before the JSON parser sees it, for what the parser
// would let through silently: nesting deeper than kMaxNesting, and a key given
// twice in one object (JSON keeps only the last, so an admin who adds a
// second "ip_ranges" would lose the first without a word). Strings and
// comments are skipped; keys are compared as written (escapes undecoded).
// Exact for valid JSON; invalid JSON fails to parse anyway. Returns the
// error, or an empty string.
std::string check_structure(std::string_view t) {
  struct Frame {
    bool object = false;
    bool expect_key = false;
    std::size_t index = 0;                 // arrays: the element being read
    std::string_view key;                  // objects: the key being read
    // Keys seen: a short list searched in place (a config's objects have a
    // handful), a hash set once an object has many (a hostile file's may).
    std::vector<std::string_view> few;
    std::unordered_set<std::string_view> many;
    bool add(std::string_view k) {
      if (many.empty()) {
        if (std::find(few.begin(), few.end(), k) != few.end()) return false;
        few.push_back(k);
        if (few.size() < 32) return true;
        many.insert(few.begin(), few.end());
        return true;
      }
      return many.insert(k).second;
    }
  };
  std::vector<Frame> stack;
  stack.reserve(8);
  // Appended piece by piece into one string: no "literal" + temporary chains
  // (which also tripped gcc 12's -Wrestrict at -O3, a false positive).
  auto path = [&stack](std::string_view last) {
    std::string p;
    auto dot = [&p] {
      if (!p.empty()) p += '.';
    };
    for (const auto& f : stack) {
      if (&f == &stack.back()) break;
      if (f.object) {
        dot();
        p.append(f.key);
      } else {
        p += '[';
        p += std::to_string(f.index);
        p += ']';
      }
    }
    dot();
    p.append(last);
    return p;
  };
  for (std::size_t i = 0; i < t.size(); ++i) {
    char c = t[i];
    if (c == '"') {
      std::size_t begin = i + 1;
      for (++i; i < t.size() && t[i] != '"'; ++i)
        if (t[i] == '\\') ++i;   // skips the escaped character, a quote included
      if (stack.empty() || !stack.back().object || !stack.back().expect_key) continue;
      Frame& f = stack.back();
      f.key = t.substr(begin, std::min(i, t.size()) - begin);
      f.expect_key = false;
      if (!f.add(f.key)) {
        std::string where = path(f.key);   // raw text: quoted when not printable
        if (has_control_chars(where) || !is_valid_utf8(where)) where = quote_for_log(where);
        return where + ": given twice in one object (JSON would keep only the last)";
      }
    } else if (c == '/' && i + 1 < t.size() && (t[i + 1] == '/' || t[i + 1] == '*')) {
      auto end = t[i + 1] == '/' ? t.find('\n', i + 2) : t.find("*/", i + 2);
      if (end == std::string_view::npos) return {};
      i = end + (t[i + 1] == '/' ? 0 : 1);
    } else if (c == '[' || c == '{') {
      if (stack.size() >= kMaxNesting) return "nested more than " + std::to_string(kMaxNesting) + " levels deep";
      stack.emplace_back();
      stack.back().object = stack.back().expect_key = c == '{';
    } else if (c == ']' || c == '}') {
      if (stack.empty()) return {};
      stack.pop_back();
    } else if (c == ',' && !stack.empty()) {
      if (stack.back().object) stack.back().expect_key = true;
      else ++stack.back().index;
    }
  }
  return {};
}

}  // namespace

Result<Config> parse_config(std::string_view text, std::string_view profile, std::string_view source) {
  if (auto bad = check_structure(text); !bad.empty()) return Error{std::string(source) + ": " + bad};
  J root = J::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false, /*ignore_comments=*/true);
  if (root.is_discarded()) {
    // Parse again with exceptions only to get the position for the message.
    try {
      J ignored = J::parse(text.begin(), text.end(), nullptr, true, true);
      (void)ignored;
    } catch (const nlohmann::json::parse_error& e) {
      std::string what = e.what();
      auto pos = what.find("parse error");
      return Error{std::string(source) + ": " + (pos == std::string::npos ? what : what.substr(pos))};
    } catch (...) {
    }
    return Error{std::string(source) + ": not valid JSON"};
  }
  if (!root.is_object()) return Error{std::string(source) + ": the top level must be a JSON object"};

  Config cfg;
  cfg.source = std::string(source);
  std::vector<std::string> errors;

  // Moved, not copied: with thousands of ranges a copy of the tree costs as much as parsing it.
  J profiles = J::object();
  if (auto it = root.find("profiles"); it != root.end()) {
    if (!it->is_object()) errors.push_back("profiles: must be an object of named overrides");
    else profiles = std::move(*it);
  }
  J base = std::move(root);
  base.erase("profiles");
  {
    Reader rd;
    read_document(rd, base, cfg);
    errors.insert(errors.end(), rd.errors.begin(), rd.errors.end());
  }
  Config chosen;
  bool found = profile.empty();
  for (const auto& [name, over] : profiles.items()) {
    cfg.profile_names.push_back(name);
    std::string pp = "profiles." + name + ".";
    if (!is_profile_name(name)) { errors.push_back("profiles." + name + ": profile names use letters, digits, '-' and '_'"); continue; }
    if (!over.is_object()) { errors.push_back("profiles." + name + ": must be an object"); continue; }
    if (over.contains("profiles")) { errors.push_back(pp + "profiles: profiles do not nest"); continue; }
    J merged = base;
    merge(merged, over);
    Config pc;
    pc.source = cfg.source;
    Reader rd;
    read_document(rd, merged, pc, &cfg.network);
    // Errors already reported for the base are not repeated per profile.
    std::vector<std::string> own;
    for (auto& e : rd.errors)
      if (std::find(errors.begin(), errors.end(), e) == errors.end()) own.push_back(pp + e);
    errors.insert(errors.end(), own.begin(), own.end());
    if (name == profile) {
      found = true;
      chosen = std::move(pc);
      chosen.profile = name;
    }
  }
  if (!found) errors.push_back("profile " + quote_for_log(profile) + " is not defined under \"profiles\"");
  if (!errors.empty()) return Error{prefix_errors(errors, std::string(source) + ": ")};
  if (!profile.empty()) {
    chosen.profile_names = std::move(cfg.profile_names);
    return chosen;
  }
  return cfg;
}

Result<Config> load_config(const std::string& path, std::string_view profile) {
  auto text = read_trusted_file(path, TrustedFileRules{});
  if (!text) return Error{text.error()};
  return parse_config(*text, profile, path);
}

std::string config_path_from(std::string_view explicit_path) {
  if (!explicit_path.empty()) return std::string(explicit_path);
  if (const char* env = std::getenv("ZENDESK_SSO_CONFIG"); env && *env) return env;
  return kDefaultConfigPath;
}

std::string broker_metrics_file(const std::string& socket_path) {
  auto slash = socket_path.rfind('/');
  return (slash == std::string::npos ? std::string(".") : socket_path.substr(0, slash)) + "/metrics/broker";
}

}  // namespace zsso
