// SPDX-License-Identifier: BSD-3-Clause
// Config JSON (parse_config): comments, profiles, every section's checks and
// the CIDR lists it builds. An admin's file, but `zendesk-sso check` reads
// whatever it is pointed at, and a malformed file must give an error, never a
// crash.
#include <cstddef>
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "fuzz_support.hpp"
#include "zsso/claims.hpp"
#include "zsso/config.hpp"
#include "zsso/policy.hpp"
#include "zsso/text.hpp"

namespace {

void check_config(const zsso::Config& cfg) {
  const auto& zd = cfg.zendesk;
  FUZZ_CHECK(!zd.subdomain.empty() && zd.subdomain == zsso::ascii_lower(zd.subdomain));
  for (const auto& h : zd.return_to_hosts) FUZZ_CHECK(h == zsso::ascii_lower(h) && !zsso::has_control_chars(h));
  FUZZ_CHECK(!zd.secret_file.empty());
  // Every template the config accepted must expand for a real-looking account.
  zsso::Account a;
  a.user = "alice";
  a.uid = 1000;
  a.gid = 1000;
  a.gecos = "Alice Example";
  a.home = "/home/alice";
  a.group = "staff";
  a.groups = {"staff", "zd-agents"};
  FUZZ_CHECK(zsso::expand_template(cfg.claims.email, a).ok());
  FUZZ_CHECK(zsso::expand_template(cfg.claims.name, a).ok());
  (void)zsso::build_claims(a, zd, cfg.claims, 1700000000, "jti");
  (void)zsso::check_address(cfg.network, std::string_view("10.1.2.3"));
  (void)zsso::check_address(cfg.network, std::string_view("2001:db8::1"));
  (void)zsso::check_access(cfg, a, std::nullopt);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto text = fuzz_input(data, size);
  // A relative secret_file is resolved against the source path.
  auto base = zsso::parse_config(text, {}, "/etc/zendesk-sso/config.json");
  if (base) {
    check_config(*base);
    for (const auto& name : base->profile_names) {
      auto p = zsso::parse_config(text, name, "/etc/zendesk-sso/config.json");
      FUZZ_CHECK(p.ok());   // a valid file has only valid profiles
      FUZZ_CHECK(p->profile == name);
      check_config(*p);
    }
  } else {
    FUZZ_CHECK(!base.error().empty());
  }
  return 0;
}
