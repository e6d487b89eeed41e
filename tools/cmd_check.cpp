// SPDX-License-Identifier: BSD-3-Clause
// check: everything an admin can get wrong before the first login, named at once.
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

#include "check_deployment.hpp"
#include "check_webauthn.hpp"
#include "cli.hpp"
#include "zsso/cidr.hpp"
#include "zsso/claims.hpp"
#include "zsso/secret.hpp"
#include "zsso/text.hpp"
#include "zsso/session.hpp"

namespace zsso::cli {

namespace {

// The shipped config's placeholders (examples/config.json): check refuses
// them, each with what to put there instead.
constexpr std::string_view kPlaceholderSubdomain = "your-subdomain";   // "YOUR-SUBDOMAIN", lowered by the parser

void check_placeholders(const Config& c, const std::string& who, const std::string& path,
                        std::vector<std::string>& problems) {
  if (c.zendesk.subdomain == kPlaceholderSubdomain)
    problems.push_back(who + "zendesk.subdomain: \"YOUR-SUBDOMAIN\" is the shipped placeholder: edit " + path +
                       " and set your SUBDOMAIN of SUBDOMAIN.zendesk.com");
  // .invalid is reserved (RFC 2606): no such address ever receives mail.
  std::string_view email = c.claims.email;
  if (auto at = email.rfind('@'); at != std::string_view::npos) {
    std::string domain = ascii_lower(email.substr(at + 1));
    if (domain == "invalid" || (domain.size() > 8 && domain.ends_with(".invalid")))
      problems.push_back(who + "claims.email: \"" + c.claims.email + "\" is the shipped placeholder: edit " + path +
                         " and set your users' mail domain, e.g. \"{user}@example.com\"");
  }
  // Documentation ranges (RFC 5737, RFC 3849) are nobody's network.
  static const CidrSet docs = *CidrSet::parse({"192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32"},
                                              "documentation ranges");
  for (std::size_t i = 0; i < c.network.ip_ranges.size(); ++i) {
    auto r = parse_range(c.network.ip_ranges[i]);
    if (r && docs.contains(r->first) && r->second >= (r->first.is_v4() ? 24 : 32))
      problems.push_back(who + "network.ip_ranges[" + std::to_string(i) + "]: \"" + c.network.ip_ranges[i] +
                         "\" is a documentation range (the shipped placeholder): edit " + path +
                         " and list your network's ranges, the same as in Zendesk's SSO settings");
  }
}

std::string describe_ranges(const NetworkConfig& n) {
  if (n.ip_ranges.empty()) return "no ip_ranges (everyone)";
  return std::to_string(n.ip_ranges.size()) + " ip_ranges entr" + (n.ip_ranges.size() == 1 ? "y" : "ies");
}

}  // namespace

int cmd_check(const Context& ctx) {
  auto args = parse_args(ctx.args, {"--web-user", "--broker-user", "--broker-groups", "--apache-dir", "--nginx-dir"},
                         {"--config-only"});
  if (!args) return kUsage;
  if (!args->positional.empty()) {
    std::fprintf(stderr, "zendesk-sso: check takes no arguments, only options (see --help)\n");
    return kUsage;
  }
  const bool config_only = args->has("--config-only");
  DeploymentOptions dopt;
  if (auto v = args->get("--web-user")) dopt.web_user = *v;
  if (auto v = args->get("--broker-user")) dopt.broker_user = *v;
  if (auto v = args->get("--apache-dir")) dopt.apache_dir = *v;
  if (auto v = args->get("--nginx-dir")) dopt.nginx_dir = *v;
  if (auto v = args->get("--broker-groups")) {
    std::string list = *v;
    for (std::size_t start = 0; start <= list.size();) {
      std::size_t comma = std::min(list.find(',', start), list.size());
      if (comma > start) dopt.broker_groups.push_back(list.substr(start, comma - start));
      start = comma + 1;
    }
  }
  if (config_only && (args->has("--web-user") || args->has("--broker-user") || args->has("--broker-groups") ||
                      args->has("--apache-dir") || args->has("--nginx-dir"))) {
    std::fprintf(stderr, "zendesk-sso: --config-only checks no deployment; drop --web-user/--broker-user/"
                         "--broker-groups/--apache-dir/--nginx-dir\n");
    return kUsage;
  }
  // Validates the base and every profile; errors are one per line.
  auto cfg = load_config(ctx.config_path, ctx.profile);
  if (!cfg) {
    std::fprintf(stderr, "%s\n", cfg.error().c_str());
    return kFail;
  }
  std::vector<std::string> problems, warnings;
  std::vector<Config> all{*cfg};
  if (ctx.profile.empty())
    for (const auto& name : cfg->profile_names) {
      auto p = load_config(ctx.config_path, name);
      if (p) all.push_back(std::move(*p));
      else problems.push_back(p.error());
    }

  std::set<std::string> secrets_seen, services_seen;
  const std::string reader_group = secret_reader_group(*cfg, dopt);
  for (const auto& c : all) {
    std::string who = c.profile.empty() ? "" : "profile " + c.profile + ": ";
    // A profile inherits the base's values: one message per placeholder.
    if (c.profile.empty() || c.zendesk.subdomain != cfg->zendesk.subdomain || c.claims.email != cfg->claims.email ||
        c.network.ip_ranges != cfg->network.ip_ranges)
      check_placeholders(c, who, ctx.config_path, problems);
    if (secrets_seen.insert(c.zendesk.secret_file).second) {
      auto s = load_secret_file(c.zendesk.secret_file);
      if (!s)
        problems.push_back(who + "zendesk.secret_file: " + s.error() +
                           (c.profile.empty() ? std::string()
                                              : " (write this profile's secret there, or delete the profiles." +
                                                    c.profile + " block if Zendesk has no second JWT configuration)") +
                           "\n  fix: " +
                           secret_file_fix(c.zendesk.secret_file, s.error(), reader_group,
                                           paste_command(c.zendesk.secret_file, "the shared secret from Zendesk")));
      else if (s->size() < 32)
        warnings.push_back(who + c.zendesk.secret_file + ": only " + std::to_string(s->size()) +
                           " bytes; Zendesk's shared secrets are longer — is it the whole secret?");
    }
    if (!c.helper.csrf_key_file.empty() && secrets_seen.insert("csrf:" + c.helper.csrf_key_file).second)
      warnings.push_back(who + "helper.csrf_key_file: no longer used since the CSRF defence needs no key (a random "
                               "cookie and Sec-Fetch-Site/Origin checks); remove it, and the file " +
                         c.helper.csrf_key_file + " may be deleted");
    if (c.api.present) {
      const bool oauth = !c.api.oauth_token_file.empty();
      const std::string& f = oauth ? c.api.oauth_token_file : c.api.token_file;
      if (secrets_seen.insert(f).second) {
        auto t = load_secret_file(f);
        if (!t)
          problems.push_back(who + (oauth ? "api.oauth_token_file: " : "api.token_file: ") + t.error() + "\n  fix: " +
                             secret_file_fix(f, t.error(), reader_group, paste_command(f, "the token from Zendesk")));
      }
      if (c.api.email_domains.empty())
        warnings.push_back(who + "api.email_domains is not set: `zendesk-sso sync` refuses to run without it");
      const bool by_id = c.claims.external_id.has_value();
      if (auto k = template_key(by_id ? *c.claims.external_id : c.claims.email); !k)
        warnings.push_back(who + "claims." + (by_id ? "external_id" : "email") + ": " + k.error() +
                           " (`zendesk-sso sync` cannot run)");
    }
    if (c.session.enabled() && secrets_seen.insert(c.session.key_file + "\n" + c.session.previous_key_file).second) {
      auto k = SessionKeys::load(c.session);
      if (!k) {
        // The key is never pasted: revoke-all writes it (and ends every session).
        const bool previous = !c.session.previous_key_file.empty() && k.error().rfind(c.session.previous_key_file, 0) == 0;
        const std::string& f = previous ? c.session.previous_key_file : c.session.key_file;
        std::string fill = previous ? "rm " + f + "   # ends the rotation's grace period" : "zendesk-sso session revoke-all";
        struct stat st {};
        std::string fix =
            ::lstat(f.c_str(), &st) != 0 && errno == ENOENT ? fill : secret_file_fix(f, k.error(), reader_group, fill);
        problems.push_back(who + "session: " + k.error() + "\n  fix: " + fix);
      }
    }
    // pam_zendesk.so learns its profile only from its profile= argument, so a
    // profile on the base's PAM service would be minted with the base's secret.
    if (!c.profile.empty() && c.pam.service == cfg->pam.service) {
      if (c.zendesk.secret_file != cfg->zendesk.secret_file)
        problems.push_back(who + "pam.service: uses the base's service \"" + c.pam.service +
                           "\", whose pam_zendesk.so signs with the base's secret; give the profile its own "
                           "pam.service with profile=" + c.profile + " on its pam_zendesk.so lines");
      else
        warnings.push_back(who + "pam.service: same service as the base, so pam_zendesk.so applies the base's "
                                 "claims and access (profile=" + c.profile + " needs its own service)");
    }
    if (services_seen.insert(c.pam.service).second) {
      std::string path = pam_service_path(c.pam.service);
      std::ifstream in(path);
      if (!in) {
        warnings.push_back(who + "pam.service: " + path + " does not exist; PAM will use its \"other\" service");
      } else {
        std::stringstream text;
        text << in.rdbuf();
        if (text.str().find("pam_zendesk.so") == std::string::npos)
          warnings.push_back(who + "pam.service: " + path + " does not use pam_zendesk.so; no token will be minted");
        else if (!c.profile.empty() && text.str().find("profile=" + c.profile) == std::string::npos)
          warnings.push_back(who + "pam.service: " + path + " has no profile=" + c.profile + " for pam_zendesk.so");
        if (auto w = webauthn_stack_warning(c, path, text.str()); !w.empty()) warnings.push_back(who + w);
      }
    }
    // A profile inherits the base's section: one message per section.
    if (c.profile.empty() || c.webauthn.rp_id != cfg->webauthn.rp_id ||
        c.webauthn.user_verification != cfg->webauthn.user_verification || c.broker.socket != cfg->broker.socket)
      check_webauthn(c, who, ctx.config_path, problems, warnings);
    if (c.zendesk.delivery == Delivery::get)
      warnings.push_back(who + "zendesk.delivery: \"get\" is deprecated by Zendesk and puts tokens in logs; use \"post\"");
    if (c.access.allow_root) warnings.push_back(who + "access.allow_root is true");
    if (c.claims.email.find('@') == std::string::npos)
      warnings.push_back(who + "claims.email: \"" + c.claims.email +
                         "\" has no '@'; unless a placeholder expands to a whole address, every token is refused "
                         "(e.g. \"{user}@example.com\")");
    if (c.helper.trust_remote_user && c.network.trusted_proxies.empty() == false)
      warnings.push_back(who + "helper.trust_remote_user with trusted_proxies: make sure the proxy strips REMOTE_USER");
  }
  CheckReport deployment;
  // Only a config worth running is worth checking as deployed.
  if (!config_only && problems.empty()) check_deployment(all, ctx.config_path, dopt, deployment);
  warnings.insert(warnings.end(), deployment.warnings.begin(), deployment.warnings.end());
  problems.insert(problems.end(), deployment.problems.begin(), deployment.problems.end());
  for (const auto& w : warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());
  if (!problems.empty()) {
    for (const auto& p : problems) std::fprintf(stderr, "%s\n", p.c_str());
    return kFail;
  }
  for (const auto& p : deployment.passed) std::printf("ok: %s\n", p.c_str());
  std::printf("ok: %s: https://%s.zendesk.com/access/jwt, %s, delivery %s, pam service %s, log %s%s\n",
              ctx.config_path.c_str(), cfg->zendesk.subdomain.c_str(), describe_ranges(cfg->network).c_str(),
              cfg->zendesk.delivery == Delivery::post ? "post" : "get", cfg->pam.service.c_str(),
              cfg->log.format == LogFormat::json ? "json" : "text",
              all.size() > 1 ? (", " + std::to_string(all.size() - 1) + " profile(s) checked").c_str() : "");
  if (cfg->webauthn.enabled()) {
    std::string origins;
    for (const auto& o : cfg->webauthn.origins) origins += (origins.empty() ? "" : ", ") + o;
    static constexpr const char* kVerification[] = {"preferred", "required", "discouraged"};
    const std::string models = cfg->webauthn.aaguids.empty()
                                   ? std::string("any key model")
                                   : std::to_string(cfg->webauthn.aaguids.size()) + " key model(s) (webauthn.aaguids)";
    std::printf("ok: security keys: rp_id %s, origins %s, user verification %s, store %s, enrolment takes %s\n",
                cfg->webauthn.rp_id.c_str(), origins.c_str(),
                kVerification[static_cast<int>(cfg->webauthn.user_verification)], cfg->webauthn.authfile.c_str(),
                models.c_str());
  }
  return kOk;
}

}  // namespace zsso::cli
