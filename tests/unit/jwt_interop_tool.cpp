// SPDX-License-Identifier: BSD-3-Clause
// Drives our JWT code for tests/unit/jwt_interop.py, which checks it against
// PyJWT (python3-jwt), an independent implementation.
//   sign SECRETFILE CLAIMS_JSON   print a token for exactly these claims
//   mint SECRETFILE               print a token built by build_claims (fixed account, full claims config)
//   verify SECRETFILE TOKEN       print the verified claims; exit 1 on any rejection
#include <cstdio>
#include <ctime>
#include <iostream>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "zsso/claims.hpp"
#include "zsso/config.hpp"
#include "zsso/jwt.hpp"
#include "zsso/secret.hpp"

namespace {

// The claims config and account whose token jwt_interop.py expects claim by claim.
constexpr std::string_view kMintConfig = R"({
  "zendesk": {"subdomain": "acme"},
  "claims": {
    "email": "{user}@acme.com", "name": "{gecos}", "external_id": "{uid}",
    "organization": "Acme {{EU}}", "organizations": ["Acme", "Acme Labs"], "organization_ids": [11, 22],
    "tags": ["intranet"], "tags_from_groups": ["staff", "it"],
    "role_by_group": {"zd-admins": "admin", "zd-agents": "agent"}, "role": "end_user",
    "custom_role_id": 77, "locale": 8, "locale_id": 1176,
    "phone": "+1555{uid}", "remote_photo_url": "https://photos.acme.com/{user}.jpg",
    "user_fields": {"login": "{user}", "level": 3, "vip": true, "cleared": null, "langs": ["en", "de"]}
  }
})";

zsso::Account mint_account() {
  zsso::Account a;
  a.user = "zoe";
  a.uid = 1001;
  a.gid = 1001;
  a.gecos = "Zoë Ñandú 李";
  a.home = "/home/zoe";
  a.group = "zoe";
  a.groups = {"zoe", "staff", "zd-agents"};
  return a;
}

int fail(const std::string& what) {
  std::cerr << "jwt_interop_tool: " << what << "\n";
  return 1;
}

int usage() {
  std::cerr << "usage: jwt_interop_tool sign SECRETFILE CLAIMS_JSON | mint SECRETFILE | verify SECRETFILE TOKEN\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) return usage();
  const std::string cmd = argv[1];
  auto secret = zsso::load_secret_file(argv[2]);
  if (!secret) return fail(secret.error());
  zsso::Hs256Key key(*secret);
  if (!key.valid()) return fail("HMAC key setup failed");
  const std::int64_t now = std::time(nullptr);

  if (cmd == "sign" && argc == 4) {
    auto claims = nlohmann::ordered_json::parse(argv[3], nullptr, false);
    if (claims.is_discarded()) return fail("CLAIMS_JSON is not JSON");
    auto token = zsso::sign_jwt(claims, key);
    if (!token) return fail(token.error());
    std::cout << *token << "\n";
    return 0;
  }
  if (cmd == "mint" && argc == 3) {
    auto cfg = zsso::parse_config(kMintConfig);
    if (!cfg) return fail(cfg.error());
    auto jti = zsso::new_jti();
    if (!jti) return fail(jti.error());
    auto claims = zsso::build_claims(mint_account(), cfg->zendesk, cfg->claims, now, *jti);
    if (!claims) return fail(claims.error());
    auto token = zsso::sign_jwt(*claims, key);
    if (!token) return fail(token.error());
    std::cout << *token << "\n";
    return 0;
  }
  if (cmd == "verify" && argc == 4) {
    zsso::VerifyOptions opt;
    opt.now = now;
    auto claims = zsso::verify_jwt(argv[3], key, opt);
    if (!claims) return fail(claims.error());
    std::cout << claims->dump() << "\n";
    return 0;
  }
  return usage();
}
