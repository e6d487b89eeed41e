// SPDX-License-Identifier: BSD-3-Clause
// mint: the token pam_zendesk.so would mint for USER, for testing a setup.
#include <cstdio>
#include <ctime>

#include "cli.hpp"
#include "zsso/account.hpp"
#include "zsso/mint.hpp"
#include "zsso/policy.hpp"
#include "zsso/zendesk.hpp"

namespace zsso::cli {

int cmd_mint(const Context& ctx) {
  auto args = parse_args(ctx.args, {"--rhost"}, {"--url"});
  if (!args) return kUsage;
  if (args->positional.size() != 1) {
    std::fprintf(stderr, "zendesk-sso: usage: mint USER [--rhost ADDR] [--url]\n");
    return kUsage;
  }
  auto cfg = load_or_report(ctx);
  if (!cfg) return kUsage;
  const std::string& user = args->positional[0];

  auto found = lookup_account(user);
  if (found.status != LookupStatus::found) {
    std::fprintf(stderr, "zendesk-sso: %s: %s\n", user.c_str(), found.error.c_str());
    return kFail;
  }
  Decision d = args->has("--rhost") ? check_access(*cfg, found.account, *args->get("--rhost"))
                                    : check_account(cfg->access, found.account);
  if (!d.allowed()) {
    std::fprintf(stderr, "zendesk-sso: %s: denied: %s\n", user.c_str(), d.reason.c_str());
    return kFail;
  }
  if (!args->has("--rhost") && !cfg->network.ranges.empty())
    std::fprintf(stderr, "note: ip_ranges not checked (no --rhost)\n");

  auto secret = load_secret_or_report(*cfg);
  if (!secret) return kUsage;
  auto minted = mint_token(*cfg, found.account, *secret, std::time(nullptr));
  if (!minted) {
    std::fprintf(stderr, "zendesk-sso: %s: %s\n", user.c_str(), minted.error().c_str());
    return kFail;
  }
  std::printf("%s\n", args->has("--url") ? jwt_get_url(cfg->zendesk, minted->token, "").c_str() : minted->token.c_str());
  return kOk;
}

}  // namespace zsso::cli
