// SPDX-License-Identifier: BSD-3-Clause
// verify: decode a token and check it against the configured secret.
#include <cstdio>
#include <ctime>
#include <iostream>
#include <iterator>

#include <nlohmann/json.hpp>

#include "cli.hpp"
#include "zsso/jwt.hpp"
#include "zsso/text.hpp"

namespace zsso::cli {

int cmd_verify(const Context& ctx) {
  auto args = parse_args(ctx.args, {"--skew"}, {"--ignore-iat"});
  if (!args) return kUsage;
  if (args->positional.size() != 1) {
    std::fprintf(stderr, "zendesk-sso: usage: verify TOKEN|- [--skew SECONDS] [--ignore-iat]\n");
    return kUsage;
  }
  VerifyOptions opt;
  opt.now = std::time(nullptr);
  opt.check_iat = !args->has("--ignore-iat");
  if (const auto* s = args->get("--skew")) {
    char* end = nullptr;
    long v = std::strtol(s->c_str(), &end, 10);
    if (s->empty() || *end || v < 0 || v > 86400 * 365) {
      std::fprintf(stderr, "zendesk-sso: --skew: %s is not a number of seconds\n", s->c_str());
      return kUsage;
    }
    opt.max_skew = v;
  }
  std::string token = args->positional[0];
  if (token == "-") token.assign(std::istreambuf_iterator<char>(std::cin), {});
  token = std::string(trim(token));

  auto cfg = load_or_report(ctx);
  if (!cfg) return kUsage;
  auto secret = load_secret_or_report(*cfg);
  if (!secret) return kUsage;
  Hs256Key key(*secret);
  auto claims = verify_jwt(token, key, opt);
  if (!claims) {
    std::fprintf(stderr, "invalid: %s\n", claims.error().c_str());
    return kFail;
  }
  std::printf("%s\n", claims->dump(2).c_str());
  return kOk;
}

}  // namespace zsso::cli
