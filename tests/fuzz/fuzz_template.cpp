// SPDX-License-Identifier: BSD-3-Clause
// Claim templates (expand_template / check_template) with a fuzzed template and
// fuzzed account fields (GECOS and names come from NSS, i.e. from users), and
// build_claims: whatever claims it builds must sign and verify unchanged.
// Input: user NUL gecos NUL home NUL group NUL other-group NUL template [NUL email template].
#include <cstddef>
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "fuzz_support.hpp"
#include "zsso/claims.hpp"
#include "zsso/jwt.hpp"
#include "zsso/text.hpp"

namespace {

zsso::Hs256Key& fuzz_key() {
  static zsso::Secret secret("fuzzing-secret-0123456789abcdef0123456789abcdef");
  static zsso::Hs256Key key(secret);
  return key;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto rest = fuzz_input(data, size);
  auto field = [&rest] {
    auto nul = rest.find('\0');
    std::string f(rest.substr(0, nul));
    rest = nul == std::string_view::npos ? std::string_view{} : rest.substr(nul + 1);
    return f;
  };
  zsso::Account a;
  a.user = field();
  a.gecos = field();
  a.home = field();
  a.group = field();
  a.groups = {a.group, field()};
  a.uid = 4294967294u;   // the largest uid, for {uid}
  a.gid = 0;
  std::string tmpl = field();
  std::string email_tmpl = rest.empty() ? "{user}@example.com" : std::string(rest);

  auto checked = zsso::check_template(tmpl);
  auto expanded = zsso::expand_template(tmpl, a);
  FUZZ_CHECK(checked.ok() == expanded.ok());   // config validation predicts expansion
  if (expanded && tmpl.find_first_of("{}") == std::string::npos) FUZZ_CHECK(*expanded == tmpl);

  zsso::ZendeskConfig zd;
  zd.subdomain = "acme";
  zsso::ClaimsConfig c;
  c.email = email_tmpl;
  c.name = tmpl;
  c.external_id = tmpl;
  c.tags_from_groups = {"staff"};   // config text: valid UTF-8, no control characters
  c.user_fields = std::make_shared<nlohmann::ordered_json>(nlohmann::ordered_json{{"field", tmpl}});
  auto claims = zsso::build_claims(a, zd, c, 1700000000, "jti");
  if (!claims) return 0;
  for (const auto& [k, v] : claims->items())
    if (v.is_string()) {
      FUZZ_CHECK(!zsso::has_control_chars(v.get_ref<const std::string&>()));
      FUZZ_CHECK(zsso::is_valid_utf8(v.get_ref<const std::string&>()));
    }
  auto token = zsso::sign_jwt(*claims, fuzz_key());
  // Accepted claims always encode; only the size limit may refuse them, and a
  // token that is made always verifies (the size limit is the same both ends).
  if (!token) {
    FUZZ_CHECK(token.error().rfind("claims too large", 0) == 0);
    return 0;
  }
  FUZZ_CHECK(token->size() <= zsso::kMaxTokenSize);
  zsso::VerifyOptions opt;
  opt.now = 1700000000;
  auto back = zsso::verify_jwt(*token, fuzz_key(), opt);
  FUZZ_CHECK(back && *back == *claims);
  return 0;
}
