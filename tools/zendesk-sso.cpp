// SPDX-License-Identifier: BSD-3-Clause
// zendesk-sso: the admin's view of a deployment. See zendesk-sso(1).
#include <cstdio>
#include <cstring>
#include <iostream>

#include "cli.hpp"

namespace {

constexpr const char* kUsageText = R"(usage: zendesk-sso [--config FILE] [--profile NAME] COMMAND [ARGS]

Commands:
  check [--config-only] [--web-user USER] [--broker-user USER [--broker-groups G,...]]
        [--apache-dir DIR] [--nginx-dir DIR]
                             validate the config, secret file(s), ranges and PAM service; then (as
                             root) open each file as the web server's / broker's user, check
                             broker.allowed_peers and the socket, ping the broker as the web
                             server's user, warn when Apache or nginx serves the login over
                             plain HTTP
  mint USER [--rhost ADDR] [--url]
                             print a signed JWT for USER (with --url, the legacy GET URL);
                             applies the access policy, and the IP ranges when --rhost is given
  verify TOKEN|- [--skew SECONDS] [--ignore-iat]
                             print the claims as JSON; exit 0 only if the signature matches
                             the configured secret and iat is within SECONDS (default 180)
  ip-test ADDR               exit 0 if ADDR is inside network.ip_ranges, 1 if not
  probe URL --user USER [--return-to URL] [--cacert FILE]
                             sign in at the helper's login URL like a browser (password on
                             stdin), report each step, verify the token with the secret
  sync [--apply] [--json] [--max-fraction F]
                             suspend Zendesk users whose account is gone or refused, make
                             agents who lost their agent group end users (a dry run
                             without --apply); needs the config's "api" section
  session revoke-all         write a fresh random session.key_file and remove
                             session.previous_key_file: every sign-in session ends
  session rotate             the same, but the old key becomes session.previous_key_file:
                             sessions go on until that file is removed
  unlock USER [--from ADDR]  lift the broker's bans of USER (after too many failed sign-ins;
                             from every address, or from ADDR only, with ADDR's own ban on
                             every account), and say what pam_faillock holds for USER and
                             the command that resets it
  keys list [USER]           the security keys in webauthn.authfile (all, or USER's): short
                             credential id, type, options, resident, sign count, when added
  keys remove USER ID-PREFIX|--all
                             remove USER's key whose id starts with ID-PREFIX (as keys list
                             prints it), or all of USER's keys; the sign-in sessions a removed
                             key made end
  keys invite USER [--minutes N]
                             print a one-time enrolment code for USER's first security key,
                             valid N minutes (default 15, at most 1440); a new one replaces it

Options:
  --config FILE    default: $ZENDESK_SSO_CONFIG, else /etc/zendesk-sso/config.json
  --profile NAME   use the named profile of the config
  -h, --help       this text;  --version  the version

Exit status: 0 success, 1 check failed / invalid / outside, 2 usage or unusable config.
)";

struct Command {
  const char* name;
  int (*run)(const zsso::cli::Context&);
};

constexpr Command kCommands[] = {
    {"check", zsso::cli::cmd_check},
    {"mint", zsso::cli::cmd_mint},
    {"verify", zsso::cli::cmd_verify},
    {"ip-test", zsso::cli::cmd_ip_test},
    {"probe", zsso::cli::cmd_probe},
    {"sync", zsso::cli::cmd_sync},
    {"session", zsso::cli::cmd_session},
    {"unlock", zsso::cli::cmd_unlock},
    {"keys", zsso::cli::cmd_keys},
};

}  // namespace

int main(int argc, char** argv) {
  zsso::cli::Context ctx;
  std::string explicit_config;
  int i = 1;
  for (; i < argc; ++i) {
    std::string_view a = argv[i];
    auto value = [&](std::string_view opt, std::string& out) -> bool {
      if (a == opt) {
        if (i + 1 >= argc) {
          std::fprintf(stderr, "zendesk-sso: %s needs a value\n", argv[i]);
          std::exit(zsso::cli::kUsage);
        }
        out = argv[++i];
        return true;
      }
      if (a.size() > opt.size() && a.substr(0, opt.size()) == opt && a[opt.size()] == '=') {
        out = std::string(a.substr(opt.size() + 1));
        return true;
      }
      return false;
    };
    if (a == "-h" || a == "--help") { std::fputs(kUsageText, stdout); return zsso::cli::kOk; }
    if (a == "--version") { std::puts("zendesk-sso " ZSSO_VERSION); return zsso::cli::kOk; }
    if (value("--config", explicit_config) || value("--profile", ctx.profile)) continue;
    if (!a.empty() && a[0] == '-') {
      std::fprintf(stderr, "zendesk-sso: unknown option %s (see --help)\n", argv[i]);
      return zsso::cli::kUsage;
    }
    break;
  }
  if (i >= argc) {
    std::fputs(kUsageText, stderr);
    return zsso::cli::kUsage;
  }
  std::string_view name = argv[i];
  ctx.config_path = zsso::config_path_from(explicit_config);
  ctx.args.assign(argv + i + 1, argv + argc);
  for (const auto& c : kCommands)
    if (name == c.name) return c.run(ctx);
  std::fprintf(stderr, "zendesk-sso: unknown command %s (see --help)\n", argv[i]);
  return zsso::cli::kUsage;
}
