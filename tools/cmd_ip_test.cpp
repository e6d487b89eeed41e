// SPDX-License-Identifier: BSD-3-Clause
// ip-test: would this address be let in?
#include <cstdio>

#include "cli.hpp"
#include "zsso/policy.hpp"

namespace zsso::cli {

int cmd_ip_test(const Context& ctx) {
  if (ctx.args.size() != 1) {
    std::fprintf(stderr, "zendesk-sso: usage: ip-test ADDR\n");
    return kUsage;
  }
  const std::string& addr = ctx.args[0];
  if (!parse_ip(addr)) {
    std::fprintf(stderr, "zendesk-sso: %s is not an IPv4 or IPv6 address\n", addr.c_str());
    return kUsage;
  }
  auto cfg = load_or_report(ctx);
  if (!cfg) return kUsage;
  Decision d = check_address(cfg->network, addr);
  std::printf("%s: %s\n", d.allowed() ? "inside" : "outside", d.reason.c_str());
  return d.allowed() ? kOk : kFail;
}

}  // namespace zsso::cli
