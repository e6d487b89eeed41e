// SPDX-License-Identifier: BSD-3-Clause
// sync: Zendesk users whose Linux account is gone or no longer admitted are
// suspended; agents who lost their agent group become end users. Dry run
// unless --apply. See zendesk-sso(1) and the admin guide's "Keeping Zendesk
// in step" section.
//
// "Ours" (documented in zendesk-sso.json(5), api): an active Zendesk user
// whose primary email is in api.email_domains AND whose external_id (when
// claims.external_id is set; else the email) fits that claim template, which
// also names the local account ({user} or {uid}). Everyone else is left alone.
#include <syslog.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli.hpp"
#include "zendesk_api.hpp"
#include "zsso/account.hpp"
#include "zsso/claims.hpp"
#include "zsso/metrics.hpp"
#include "zsso/policy.hpp"
#include "zsso/text.hpp"
#include "zsso/zendesk.hpp"

namespace zsso::cli {

namespace {

// The applied run's result for /metrics (metrics.sync_file). A dry run is
// not recorded: it changes nothing, and an admin trying one by hand must not
// make a stopped timer look alive. The file is the package's (the unit may
// write it, not create one): a missing or unwritable file is a warning only.
void record_run(const Config& cfg, std::size_t changes, std::size_t failures, bool braked) {
  if (!cfg.metrics.enabled || cfg.metrics.sync_file.empty()) return;
  metrics::Writer w;
  if (auto ok = w.open(cfg.metrics.sync_file, 0664, false); !ok) {
    ::syslog(LOG_WARNING, "sync: the last run is not recorded for /metrics: %s (metrics.sync_file)", ok.error().c_str());
    return;
  }
  w.record_sync(static_cast<std::uint64_t>(std::time(nullptr)), changes, failures, braked);
}

bool is_agent_role(const std::string& r) { return r == "agent" || r == "admin"; }
bool is_end_user_role(const std::string& r) { return r == "end-user" || r == "end_user"; }
// A role as Zendesk sent it, fit for a log line or the table.
std::string shown_role(const std::string& r) {
  return is_agent_role(r) || is_end_user_role(r) ? r : quote_for_log(r, 32);
}

struct Change {
  ZendeskUser user;
  std::string account;       // local user name, "" when none
  bool suspend = false;
  bool downgrade = false;    // role -> end-user
  std::string reason;
  std::string result;        // "would", "done", "failed: ..."
  std::string action() const {
    if (suspend && downgrade) return "suspend+end-user";
    return suspend ? "suspend" : "end-user";
  }
};

struct Plan {
  std::size_t listed = 0, ours = 0, admins_kept = 0, kept = 0;
  std::vector<Change> changes;
  std::vector<std::string> lookup_errors;   // users left alone because NSS failed
};

// Every config that signs people into this Zendesk: the chosen one, plus the
// base and each profile with the same subdomain. A user is kept when any of
// them admits the account.
std::vector<Config> door_configs(const Context& ctx, const Config& chosen) {
  std::vector<Config> out{chosen};
  std::vector<std::string> names{""};
  for (const auto& n : chosen.profile_names) names.push_back(n);
  for (const auto& n : names) {
    if (n == chosen.profile) continue;
    auto c = load_config(ctx.config_path, n);
    if (c && c->zendesk.subdomain == chosen.zendesk.subdomain) out.push_back(std::move(*c));
  }
  return out;
}

// How sync recognises our users and their accounts (see the file comment).
struct Keys {
  TemplateKey id;                           // claims.external_id's, else claims.email's
  bool id_is_external_id = false;
  std::optional<TemplateKey> email;         // claims.email's too, when external_id is the id
};

void decide(const ZendeskUser& zu, const Config& cfg, const std::vector<Config>& doors, const Keys& keys,
            std::int64_t now, Plan& plan) {
  ++plan.listed;
  if (!zu.active) return;   // deleted in Zendesk
  auto at = zu.email.rfind('@');
  if (at == std::string::npos) return;
  std::string email = ascii_lower(zu.email);
  std::string domain = email.substr(at + 1);
  bool our_domain = false;
  for (const auto& d : cfg.api.email_domains) our_domain = our_domain || d == domain;
  if (!our_domain) return;
  auto name = keys.id.match(keys.id_is_external_id ? zu.external_id : email);
  if (!name) return;   // not made by our claims template: another system's user
  std::optional<std::string> email_name;
  if (keys.email) {
    email_name = keys.email->match(email);
    if (!email_name) return;
    // Both name the same account: another system's external_id on one of our addresses is not ours.
    if (keys.email->kind == keys.id.kind && ascii_lower(*email_name) != ascii_lower(*name)) return;
  }
  if (zu.role == "admin" && !cfg.api.include_admins) {
    ++plan.ours;
    ++plan.admins_kept;
    return;
  }

  if (keys.id.kind == TemplateKey::Kind::uid && std::stoull(*name) > 0xffffffffull) return;
  AccountLookup found = keys.id.kind == TemplateKey::Kind::uid
                            ? lookup_account_by_uid(static_cast<uid_t>(std::stoull(*name)))
                            : lookup_account(*name);
  if (found.status == LookupStatus::found) {
    // The account must make this very address (catches a uid reused by someone else).
    auto made = expand_template(cfg.claims.email, found.account);
    if (!made || ascii_lower(*made) != email) return;
  }
  ++plan.ours;
  Change ch;
  ch.user = zu;
  std::string who = quote_for_log(*name, 64);
  if (found.status == LookupStatus::error) {
    plan.lookup_errors.push_back("Zendesk user " + std::to_string(zu.id) + " (" + who + "): " + found.error);
    return;
  }
  bool departed = false;
  std::optional<std::string> wanted_role;   // from the admitting configs
  bool some_door_keeps_role = false;
  if (found.status == LookupStatus::unknown) {
    departed = true;
    ch.reason = "no account " + who;
  } else {
    ch.account = found.account.user;
    Standing st = read_standing(found.account.user, now);
    if (st == Standing::expired) { departed = true; ch.reason = "account " + who + " expired"; }
    else if (st == Standing::locked) { departed = true; ch.reason = "account " + who + " locked"; }
    else {
      // The sign-in's own policy (pam_zendesk.so's account stage), per door.
      std::string first_denial;
      bool admitted = false;
      for (const auto& door : doors) {
        Decision d = check_account(door.access, found.account);
        if (!d.allowed()) {
          if (first_denial.empty()) first_denial = d.reason;
          continue;
        }
        admitted = true;
        auto r = role_for(found.account, door.claims);
        if (!r || is_agent_role(*r)) some_door_keeps_role = true;
        else wanted_role = r;
      }
      if (!admitted) { departed = true; ch.reason = "account " + who + ": " + first_denial; }
    }
  }
  if (departed) {
    ch.suspend = !zu.suspended;
    ch.downgrade = is_agent_role(zu.role);
  } else if (is_agent_role(zu.role) && !some_door_keeps_role && wanted_role && is_end_user_role(*wanted_role)) {
    ch.downgrade = true;
    ch.reason = "account " + who + " is in no claims.role_by_group group for " + shown_role(zu.role);
  }
  if (ch.suspend || ch.downgrade) plan.changes.push_back(std::move(ch));
  else ++plan.kept;
}

std::string log_line(const Change& c, bool done) {
  std::string verb = c.suspend && c.downgrade ? "suspended and made end-user"
                     : c.suspend             ? "suspended"
                                             : "made end-user";
  std::string what = "Zendesk user " + std::to_string(c.user.id) + " " + quote_for_log(c.user.email, 100) +
                     " (was " + shown_role(c.user.role) + ")";
  if (done) return "sync: " + verb + " " + what + ": " + c.reason;
  return "sync: could not change " + what + " (" + c.action() + ", " + c.reason + "): " + c.result;
}

}  // namespace

int cmd_sync(const Context& ctx) {
  auto args = parse_args(ctx.args, {"--max-fraction"}, {"--apply", "--json"});
  if (!args) return kUsage;
  if (!args->positional.empty()) {
    std::fprintf(stderr, "zendesk-sso: usage: sync [--apply] [--json] [--max-fraction F]\n");
    return kUsage;
  }
  const bool apply = args->has("--apply"), as_json = args->has("--json");
  auto cfg = load_or_report(ctx);
  if (!cfg) return kUsage;
  const ApiConfig& api = cfg->api;
  if (!api.present) {
    std::fprintf(stderr, "zendesk-sso: sync: the config has no \"api\" section (token_file and email, "
                         "or oauth_token_file; email_domains); see zendesk-sso.json(5)\n");
    return kUsage;
  }
  if (api.email_domains.empty()) {
    std::fprintf(stderr, "zendesk-sso: sync: api.email_domains is required: the email domains of the users "
                         "this SSO signs in (sync never touches anyone else)\n");
    return kUsage;
  }
  double max_fraction = api.max_change_fraction;
  if (const std::string* f = args->get("--max-fraction")) {
    char* end = nullptr;
    max_fraction = std::strtod(f->c_str(), &end);
    if (f->empty() || *end || !(max_fraction > 0.0 && max_fraction <= 1.0)) {
      std::fprintf(stderr, "zendesk-sso: sync: --max-fraction takes a number above 0 and at most 1\n");
      return kUsage;
    }
  }
  Keys keys;
  keys.id_is_external_id = cfg->claims.external_id.has_value();
  const std::string& tmpl = keys.id_is_external_id ? *cfg->claims.external_id : cfg->claims.email;
  auto key = template_key(keys.id_is_external_id ? tmpl : ascii_lower(tmpl));
  if (!key) {
    std::fprintf(stderr, "zendesk-sso: sync: claims.%s %s: %s\n", keys.id_is_external_id ? "external_id" : "email",
                 quote_for_log(tmpl).c_str(), key.error().c_str());
    return kUsage;
  }
  keys.id = *key;
  if (keys.id_is_external_id)
    if (auto ek = template_key(ascii_lower(cfg->claims.email))) keys.email = *ek;
  const std::string& token_file = api.oauth_token_file.empty() ? api.token_file : api.oauth_token_file;
  auto token = load_secret_file(token_file, "the API token from Zendesk's admin page (Apps and integrations > APIs)");
  if (!token) {
    std::fprintf(stderr, "zendesk-sso: sync: api.%s: %s\n", api.oauth_token_file.empty() ? "token_file" : "oauth_token_file",
                 token.error().c_str());
    return kUsage;
  }
  std::string origin = "https://" + zendesk_host(cfg->zendesk);
  if (const char* ov = std::getenv("ZENDESK_SSO_ENDPOINT_OVERRIDE"); ov && *ov) {
    auto o = loopback_origin(ov);
    if (!o) {
      std::fprintf(stderr, "zendesk-sso: sync: ZENDESK_SSO_ENDPOINT_OVERRIDE: %s; refusing to send the API token there\n",
                   o.error().c_str());
      return kUsage;
    }
    origin = *o;
    std::fprintf(stderr, "note: test-only endpoint override %s in effect\n", origin.c_str());
  }

  const char* to_stderr = std::getenv("ZENDESK_SSO_LOG_STDERR");
  ::openlog("zendesk-sso", LOG_PID | (to_stderr && std::string(to_stderr) == "1" ? LOG_PERROR : 0), LOG_AUTHPRIV);
  CurlGlobal global;
  ZendeskApi zd(origin, api_auth_header(api, *token));
  if (!global.ok || !zd.ok()) {
    std::fprintf(stderr, "zendesk-sso: sync: libcurl did not start\n");
    return kFail;
  }

  // 1. Read everything first: nothing is changed unless the whole list came.
  auto doors = door_configs(ctx, *cfg);
  const std::int64_t now = static_cast<std::int64_t>(std::time(nullptr));
  Plan plan;
  auto failed = zd.list_users([&](const ZendeskUser& u) { decide(u, *cfg, doors, keys, now, plan); });
  if (failed) {
    std::fprintf(stderr, "zendesk-sso: sync: cannot list Zendesk users: %s\nnothing was changed\n", failed->message.c_str());
    ::syslog(LOG_ERR, "sync: cannot list Zendesk users: %s; nothing changed", failed->message.c_str());
    if (apply) record_run(*cfg, 0, 1, false);
    return kFail;
  }

  // 2. The safety brake: a broken NSS/SSSD makes everyone look departed.
  const double limit = max_fraction * static_cast<double>(plan.ours);
  const bool braked = !plan.changes.empty() && static_cast<double>(plan.changes.size()) > limit;

  // 3. Apply (or not), one PUT per user: setting absolute values, so a
  // second run after a partial failure finishes the job and repeats nothing.
  std::size_t done = 0, failures = 0;
  for (auto& c : plan.changes) {
    if (!apply || braked) { c.result = braked ? "refused" : "would"; continue; }
    nlohmann::json fields = nlohmann::json::object();
    if (c.suspend) fields["suspended"] = true;
    if (c.downgrade) fields["role"] = "end-user";   // Zendesk's spelling in the Users API
    ApiFailure f;
    auto updated = zd.update_user(c.user.id, fields, f);
    if (!updated) c.result = "failed: " + f.message;
    else if ((c.suspend && !updated->suspended) || (c.downgrade && !is_end_user_role(updated->role)))
      c.result = "failed: Zendesk answered 200 but the user is still " +
                 std::string(updated->suspended ? "suspended, " : "not suspended, ") + shown_role(updated->role);
    else c.result = "done";
    if (c.result == "done") {
      ++done;
      ::syslog(LOG_NOTICE, "%s", log_line(c, true).c_str());
    } else {
      ++failures;
      ::syslog(LOG_ERR, "%s", log_line(c, false).c_str());
    }
  }
  for (const auto& e : plan.lookup_errors) ::syslog(LOG_ERR, "sync: left alone: %s", e.c_str());
  if (apply) record_run(*cfg, done, failures + plan.lookup_errors.size(), braked);

  std::string mode = apply ? "apply" : "dry run";
  std::string summary = "sync (" + mode + "): " + std::to_string(plan.listed) + " Zendesk users listed, " +
                        std::to_string(plan.ours) + " ours, " + std::to_string(plan.changes.size()) +
                        (apply && !braked ? " to change, " + std::to_string(done) + " changed, " +
                                                std::to_string(failures) + " failed"
                                          : " would change") +
                        ", " + std::to_string(plan.admins_kept) + " admins left alone, " +
                        std::to_string(plan.lookup_errors.size()) + " lookup errors, " +
                        std::to_string(zd.retries()) + " retries";
  std::string brake_text;
  if (braked)
    brake_text = "safety brake: " + std::to_string(plan.changes.size()) + " of " + std::to_string(plan.ours) +
                 " of our users would change, more than api.max_change_fraction " + std::to_string(max_fraction) +
                 " allows; nothing was changed. If NSS/SSSD/LDAP answers correctly (getent passwd USER) and the "
                 "list is right, run once with a larger --max-fraction";
  ::syslog(braked || failures || !plan.lookup_errors.empty() ? LOG_WARNING : LOG_INFO, "%s%s%s", summary.c_str(),
           braked ? "; " : "", brake_text.c_str());

  if (as_json) {
    nlohmann::json j = {{"mode", apply ? "apply" : "dry-run"},
                        {"listed", plan.listed},
                        {"ours", plan.ours},
                        {"admins_left_alone", plan.admins_kept},
                        {"unchanged", plan.kept},
                        {"changed", done},
                        {"failed", failures},
                        {"braked", braked},
                        {"max_change_fraction", max_fraction},
                        {"retries", zd.retries()},
                        {"lookup_errors", plan.lookup_errors},
                        {"changes", nlohmann::json::array()}};
    for (const auto& c : plan.changes)
      j["changes"].push_back({{"id", c.user.id},
                              {"email", c.user.email},
                              {"external_id", c.user.external_id},
                              {"role", c.user.role},
                              {"account", c.account},
                              {"suspend", c.suspend},
                              {"role_to", c.downgrade ? nlohmann::json("end-user") : nlohmann::json(nullptr)},
                              {"reason", c.reason},
                              {"result", c.result}});
    std::printf("%s\n", j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  } else {
    if (!plan.changes.empty()) {
      std::printf("%-16s %-12s %-9s %-32s %s\n", "ACTION", "ZENDESK ID", "ROLE", "EMAIL", "REASON / RESULT");
      for (const auto& c : plan.changes)
        std::printf("%-16s %-12lld %-9s %-32s %s [%s]\n", c.action().c_str(), static_cast<long long>(c.user.id),
                    shown_role(c.user.role).c_str(), quote_for_log(c.user.email, 64).c_str(), c.reason.c_str(), c.result.c_str());
    }
    std::printf("%s\n", summary.c_str());
  }
  if (braked) std::fprintf(stderr, "zendesk-sso: %s\n", brake_text.c_str());
  for (const auto& e : plan.lookup_errors) std::fprintf(stderr, "zendesk-sso: sync: left alone: %s\n", e.c_str());
  return braked || failures || !plan.lookup_errors.empty() ? kFail : kOk;
}

}  // namespace zsso::cli
