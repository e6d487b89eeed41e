// check: everything an admin can get wrong before the first login, named at once.
#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

#include "cli.hpp"
#include "zsso/secret.hpp"
#include "zsso/session.hpp"

namespace zsso::cli {

namespace {

// Where libpam looks for the service file (pam_wrapper redirects it in tests).
std::string pam_service_path(const std::string& service) {
  const char* dir = std::getenv("PAM_WRAPPER_SERVICE_DIR");
  return std::string(dir && *dir ? dir : "/etc/pam.d") + "/" + service;
}

std::string describe_ranges(const NetworkConfig& n) {
  if (n.ip_ranges.empty()) return "no ip_ranges (everyone)";
  return std::to_string(n.ip_ranges.size()) + " ip_ranges entr" + (n.ip_ranges.size() == 1 ? "y" : "ies");
}

}  // namespace

int cmd_check(const Context& ctx) {
  if (!ctx.args.empty()) {
    std::fprintf(stderr, "zendesk-sso: check takes no arguments\n");
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
  for (const auto& c : all) {
    std::string who = c.profile.empty() ? "" : "profile " + c.profile + ": ";
    if (secrets_seen.insert(c.zendesk.secret_file).second) {
      auto s = load_secret_file(c.zendesk.secret_file);
      if (!s) problems.push_back(who + "zendesk.secret_file: " + s.error());
      else if (s->size() < 32)
        warnings.push_back(who + c.zendesk.secret_file + ": only " + std::to_string(s->size()) +
                           " bytes; Zendesk's shared secrets are longer — is it the whole secret?");
    }
    if (!c.helper.csrf_key_file.empty() && secrets_seen.insert(c.helper.csrf_key_file).second) {
      auto k = load_secret_file(c.helper.csrf_key_file);
      if (!k) problems.push_back(who + "helper.csrf_key_file: " + k.error());
    }
    if (c.session.enabled() && secrets_seen.insert(c.session.key_file + "\n" + c.session.previous_key_file).second) {
      auto k = SessionKeys::load(c.session);
      if (!k) problems.push_back(who + "session: " + k.error());
    }
    if (!c.broker.socket.empty() && c.helper.csrf_key_file.empty())
      warnings.push_back(who + "broker.socket is set but helper.csrf_key_file is not: the CGI derives its CSRF key "
                               "from the Zendesk secret, which the web server should not be able to read in broker mode");
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
      }
    }
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
  for (const auto& w : warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());
  if (!problems.empty()) {
    for (const auto& p : problems) std::fprintf(stderr, "%s\n", p.c_str());
    return kFail;
  }
  std::printf("ok: %s: https://%s.zendesk.com/access/jwt, %s, delivery %s, pam service %s%s\n",
              ctx.config_path.c_str(), cfg->zendesk.subdomain.c_str(), describe_ranges(cfg->network).c_str(),
              cfg->zendesk.delivery == Delivery::post ? "post" : "get", cfg->pam.service.c_str(),
              all.size() > 1 ? (", " + std::to_string(all.size() - 1) + " profile(s) checked").c_str() : "");
  return kOk;
}

}  // namespace zsso::cli
