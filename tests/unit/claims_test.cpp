// SPDX-License-Identifier: BSD-3-Clause
#include "zsso/claims.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace zsso {
namespace {

using J = nlohmann::ordered_json;

constexpr std::int64_t kNow = 1718000000;
constexpr std::string_view kJti = "q1w2e3r4t5y6u7i8o9p0aa";

Account zoe() {
  Account a;
  a.user = "zoe";
  a.uid = 1001;
  a.gid = 100;
  a.gecos = "Zoë Ñandú 李";
  a.home = "/home/zoe";
  a.group = "users";
  a.groups = {"users", "staff", "zd-agents", "zd-admins"};
  return a;
}

ClaimsConfig base_claims() {
  ClaimsConfig c;
  c.email = "{user}@acme.com";
  return c;
}

J build_ok(const Account& a, const ClaimsConfig& c, const ZendeskConfig& zd = {}) {
  auto r = build_claims(a, zd, c, kNow, kJti);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error());
  return r.ok() ? *r : J{};
}

std::string build_err(const Account& a, const ClaimsConfig& c) {
  auto r = build_claims(a, ZendeskConfig{}, c, kNow, kJti);
  EXPECT_FALSE(r.ok()) << "built: " << (r.ok() ? r->dump() : "");
  return r.ok() ? "" : r.error();
}

std::vector<std::string> keys(const J& j) {
  std::vector<std::string> k;
  for (const auto& [key, v] : j.items()) k.push_back(key);
  return k;
}

// --- templates -----------------------------------------------------------------

TEST(Template, ExpandsEveryPlaceholder) {
  auto r = expand_template("{user}|{uid}|{gid}|{gecos}|{home}|{group}", zoe());
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(*r, "zoe|1001|100|Zoë Ñandú 李|/home/zoe|users");
}

TEST(Template, DoubledBracesAreLiteral) {
  EXPECT_EQ(*expand_template("{{user}}", zoe()), "{user}");
  EXPECT_EQ(*expand_template("{{{user}}}", zoe()), "{zoe}");
  EXPECT_EQ(*expand_template("a}}b{{c", zoe()), "a}b{c");
  EXPECT_EQ(*expand_template("", zoe()), "");
  EXPECT_EQ(*expand_template("plain", zoe()), "plain");
}

TEST(Template, RejectsUnknownPlaceholders) {
  for (const char* t : {"{nope}", "{}", "{User}", "{ user}", "{user }", "{us{er}"}) {
    EXPECT_FALSE(expand_template(t, zoe()).ok()) << t;
    auto c = check_template(t);
    ASSERT_FALSE(c.ok()) << t;
    EXPECT_NE(c.error().find("unknown placeholder"), std::string::npos) << c.error();
  }
}

TEST(Template, RejectsLoneBraces) {
  EXPECT_EQ(check_template("{user").error(), "unclosed '{'");
  EXPECT_EQ(check_template("{").error(), "unclosed '{'");
  EXPECT_EQ(check_template("user}").error(), "lone '}' (write '}}' for a literal brace)");
  EXPECT_EQ(check_template("}").error(), "lone '}' (write '}}' for a literal brace)");
  EXPECT_FALSE(check_template("{user}}").ok());
  EXPECT_FALSE(check_template("{{user}").ok());
  EXPECT_FALSE(expand_template("{user", zoe()).ok());
}

TEST(Template, CheckAcceptsAllKnownPlaceholders) {
  EXPECT_TRUE(check_template("{user}{uid}{gid}{gecos}{home}{group}{{}}").ok());
}

// --- required claims -----------------------------------------------------------

TEST(Claims, StartsWithIatJtiEmailNameInThatOrder) {
  J j = build_ok(zoe(), base_claims());
  EXPECT_EQ(keys(j), (std::vector<std::string>{"iat", "jti", "email", "name"}));
  EXPECT_EQ(j["iat"], kNow);
  EXPECT_TRUE(j["iat"].is_number_integer());
  EXPECT_EQ(j["jti"], kJti);
  EXPECT_EQ(j["email"], "zoe@acme.com");
  EXPECT_EQ(j["name"], "Zoë Ñandú 李");
}

TEST(Claims, Utf8NamesPassThroughUnchanged) {
  Account a = zoe();
  for (const char* name : {"Zoë Ñandú 李", "Ζωή", "Åsa Ødegård", "😀 Emoji", "O'Brien \"Bob\" <b>"}) {
    a.gecos = name;
    EXPECT_EQ(build_ok(a, base_claims())["name"], name);
  }
}

TEST(Claims, NameFallsBackToUserWhenGecosIsEmpty) {
  Account a = zoe();
  for (const char* gecos : {"", "   ", "\t"}) {
    a.gecos = gecos;
    if (std::string(gecos) == "\t") {
      build_err(a, base_claims());   // a tab is a control character, not a blank
      continue;
    }
    EXPECT_EQ(build_ok(a, base_claims())["name"], "zoe") << '"' << gecos << '"';
  }
}

// Found by tests/fuzz/fuzz_template: the fallback skipped the value checks.
TEST(Claims, UserNameFallbackIsCheckedLikeAnyValue) {
  ClaimsConfig c = base_claims();
  c.email = "someone@acme.com";   // no {user}: the email check never sees the user name
  Account a = zoe();
  a.gecos = "";
  for (const char* user : {"zoe\x1b[31m", "zo\xff", "zoe\n"}) {
    a.user = user;
    EXPECT_EQ(build_err(a, c).rfind("claim name: ", 0), 0u) << user;
  }
}

TEST(Claims, NameTemplateCanCombinePlaceholders) {
  ClaimsConfig c = base_claims();
  c.name = "{gecos} ({user})";
  EXPECT_EQ(build_ok(zoe(), c)["name"], "Zoë Ñandú 李 (zoe)");
}

TEST(Claims, EmailMustHaveExactlyOneAtWithTextOnBothSides) {
  ClaimsConfig c = base_claims();
  for (const char* bad : {"{user}", "@acme.com", "{user}@", "{user}@a@b.com", "{gecos}@acme.com", "", "@"}) {
    c.email = bad;
    std::string e = build_err(zoe(), c);
    EXPECT_EQ(e.rfind("claim email: ", 0), 0u) << bad << ": " << e;
  }
  for (const char* good : {"{user}@acme.com", "{user}+zd@mail.acme.co.uk", "{uid}@ids.acme.com"}) {
    c.email = good;
    build_ok(zoe(), c);
  }
}

TEST(Claims, EmailNamesTheBadValueQuoted) {
  ClaimsConfig c = base_claims();
  c.email = "{user}";
  EXPECT_EQ(build_err(zoe(), c), "claim email: \"zoe\" is not an email address");
}

// --- hostile values -----------------------------------------------------------

TEST(Claims, RejectsControlCharactersInAnyTemplatedValue) {
  Account a = zoe();
  a.gecos = "Zoë\nInjected: yes";
  EXPECT_EQ(build_err(a, base_claims()), "claim name: control character in value");
  a = zoe();
  a.user = "zoe\r";
  EXPECT_EQ(build_err(a, base_claims()), "claim email: control character in value");
  a = zoe();
  a.home = std::string("/home/zo\x7f", 9);
  ClaimsConfig c = base_claims();
  c.remote_photo_url = "https://img{home}";
  EXPECT_EQ(build_err(a, c), "claim remote_photo_url: control character in value");
  a = zoe();
  a.group = std::string("us\0ers", 6);
  c = base_claims();
  c.user_fields = std::make_shared<J>(J{{"team", "{group}"}});
  EXPECT_EQ(build_err(a, c), "claim user_fields.team: control character in value");
}

TEST(Claims, RejectsInvalidUtf8) {
  Account a = zoe();
  for (const char* bad : {"Zo\xeb", "\xc3", "\xed\xa0\x80", "\xc0\xaf", "\xf4\x90\x80\x80", "\xff"}) {
    a.gecos = bad;
    EXPECT_EQ(build_err(a, base_claims()), "claim name: invalid UTF-8");
  }
}

TEST(Claims, RejectsUnknownPlaceholderEvenIfConfigWasNotChecked) {
  ClaimsConfig c = base_claims();
  c.external_id = "{nope}";
  std::string e = build_err(zoe(), c);
  EXPECT_EQ(e.rfind("claim external_id: unknown placeholder {nope}", 0), 0u) << e;
}

// --- optional claims ------------------------------------------------------------

TEST(Claims, ExternalIdIsAStringAndEmptyExpansionIsOmitted) {
  ClaimsConfig c = base_claims();
  c.external_id = "{uid}";
  J j = build_ok(zoe(), c);
  EXPECT_TRUE(j["external_id"].is_string());
  EXPECT_EQ(j["external_id"], "1001");
  Account nogroup = zoe();
  nogroup.group = "";
  c.external_id = "{group}";
  EXPECT_FALSE(build_ok(nogroup, c).contains("external_id"));
}

TEST(Claims, OrganizationIdBeatsOrganization) {
  ClaimsConfig c = base_claims();
  c.organization = "Acme";
  EXPECT_EQ(build_ok(zoe(), c)["organization"], "Acme");
  c.organization_id = 360001;
  J j = build_ok(zoe(), c);
  EXPECT_EQ(j["organization_id"], 360001);
  EXPECT_TRUE(j["organization_id"].is_number_integer());
  EXPECT_FALSE(j.contains("organization"));
}

TEST(Claims, OrganizationTemplateIsExpanded) {
  ClaimsConfig c = base_claims();
  c.organization = "Dept {group}";
  EXPECT_EQ(build_ok(zoe(), c)["organization"], "Dept users");
}

TEST(Claims, OrganizationListsAreCommaJoinedStrings) {
  ClaimsConfig c = base_claims();
  c.organizations = {"Acme", "Acme Labs", "Zoë GmbH"};
  c.organization_ids = {1, 22, 333};
  J j = build_ok(zoe(), c);
  EXPECT_EQ(j["organizations"], "Acme,Acme Labs,Zoë GmbH");
  EXPECT_EQ(j["organization_ids"], "1,22,333");
  c.organizations = {"Solo"};
  c.organization_ids = {};
  J one = build_ok(zoe(), c);
  EXPECT_EQ(one["organizations"], "Solo");
  EXPECT_FALSE(one.contains("organization_ids"));
}

TEST(Claims, TagsAreAJsonArrayOfStaticTagsThenMatchingGroupsInConfigOrder) {
  ClaimsConfig c = base_claims();
  c.tags = {"intranet"};
  c.tags_from_groups = {"zd-admins", "nobody-group", "staff"};
  J j = build_ok(zoe(), c);
  ASSERT_TRUE(j["tags"].is_array());
  EXPECT_EQ(j["tags"], J::array({"intranet", "zd-admins", "staff"}));
}

TEST(Claims, TagsFromGroupsOnlyForMembers) {
  ClaimsConfig c = base_claims();
  c.tags_from_groups = {"it"};
  J j = build_ok(zoe(), c);
  ASSERT_TRUE(j.contains("tags"));
  EXPECT_EQ(j["tags"], J::array());   // configured: sent (empty) so Zendesk's tags follow the groups
}

TEST(Claims, NoTagsClaimWhenNothingIsConfigured) {
  EXPECT_FALSE(build_ok(zoe(), base_claims()).contains("tags"));
}

TEST(Claims, RoleByGroupFirstMatchInFileOrderWins) {
  ClaimsConfig c = base_claims();
  c.role_by_group = {{"zd-admins", "admin"}, {"zd-agents", "agent"}};
  EXPECT_EQ(build_ok(zoe(), c)["role"], "admin");
  c.role_by_group = {{"zd-agents", "agent"}, {"zd-admins", "admin"}};
  EXPECT_EQ(build_ok(zoe(), c)["role"], "agent");   // file order, not the user's group order
}

TEST(Claims, RoleByGroupFallsBackToDefaultRoleOrNone) {
  ClaimsConfig c = base_claims();
  c.role_by_group = {{"zd-light", "agent"}};
  EXPECT_FALSE(build_ok(zoe(), c).contains("role"));
  c.role = "end_user";
  EXPECT_EQ(build_ok(zoe(), c)["role"], "end_user");
}

TEST(Claims, IntegerClaimsAreIntegers) {
  ClaimsConfig c = base_claims();
  c.custom_role_id = 9;
  c.locale = 1;
  c.locale_id = 1176;
  J j = build_ok(zoe(), c);
  for (const char* k : {"custom_role_id", "locale", "locale_id"}) EXPECT_TRUE(j[k].is_number_integer()) << k;
  EXPECT_EQ(j["locale_id"], 1176);
}

TEST(Claims, PhoneAndPhotoAreTemplates) {
  ClaimsConfig c = base_claims();
  c.phone = "+1555{uid}";
  c.remote_photo_url = "https://photos.acme.com/{user}.jpg";
  J j = build_ok(zoe(), c);
  EXPECT_EQ(j["phone"], "+15551001");
  EXPECT_EQ(j["remote_photo_url"], "https://photos.acme.com/zoe.jpg");
}

TEST(Claims, UserFieldsExpandStringsAndKeepRealJsonTypes) {
  ClaimsConfig c = base_claims();
  c.user_fields = std::make_shared<J>(J::parse(R"({"login": "{user}", "level": 3, "ratio": 0.5, "vip": true, "cleared": null,
                               "langs": ["en", "{user}"], "since": "2024-01-31"})"));
  J j = build_ok(zoe(), c);
  const J& f = j["user_fields"];
  ASSERT_TRUE(f.is_object());   // an object, never a JSON string holding one
  EXPECT_EQ(f["login"], "zoe");
  EXPECT_TRUE(f["level"].is_number_integer());
  EXPECT_EQ(f["level"], 3);
  EXPECT_TRUE(f["ratio"].is_number_float());
  EXPECT_EQ(f["vip"], true);
  EXPECT_TRUE(f["cleared"].is_null());
  EXPECT_EQ(f["langs"], J::array({"en", "{user}"}));   // only top-level strings are templates
  EXPECT_EQ(f["since"], "2024-01-31");
  EXPECT_NE(j.dump().find(R"("user_fields":{"login":"zoe","level":3)"), std::string::npos) << j.dump();
}

TEST(Claims, NoUserFieldsClaimWhenEmpty) {
  EXPECT_FALSE(build_ok(zoe(), base_claims()).contains("user_fields"));
}

TEST(Claims, ExpIsAddedOnlyWhenConfigured) {
  ZendeskConfig zd;
  EXPECT_FALSE(build_ok(zoe(), base_claims(), zd).contains("exp"));
  zd.exp_seconds = 300;
  J j = build_ok(zoe(), base_claims(), zd);
  EXPECT_EQ(j["exp"], kNow + 300);
}

TEST(Claims, FullConfigProducesEveryClaimInOrder) {
  ClaimsConfig c = base_claims();
  c.external_id = "{user}";
  c.organization = "Acme";
  c.organizations = {"A"};
  c.organization_ids = {5};
  c.tags = {"t"};
  c.role = "end_user";
  c.custom_role_id = 2;
  c.locale = 1;
  c.locale_id = 3;
  c.phone = "+1";
  c.remote_photo_url = "https://p/x";
  c.user_fields = std::make_shared<J>(J::object({{"k", "v"}}));
  ZendeskConfig zd;
  zd.exp_seconds = 60;
  EXPECT_EQ(keys(build_ok(zoe(), c, zd)),
            (std::vector<std::string>{"iat", "jti", "email", "name", "external_id", "organization", "organizations",
                                      "organization_ids", "tags", "role", "custom_role_id", "locale", "locale_id",
                                      "phone", "remote_photo_url", "user_fields", "exp"}));
}

// --- role_for and template keys (shared by the sign-in and `zendesk-sso sync`) ----

TEST(RoleFor, FirstMatchingGroupThenDefaultThenNone) {
  ClaimsConfig c = base_claims();
  EXPECT_FALSE(role_for(zoe(), c).has_value());
  c.role = "end_user";
  EXPECT_EQ(role_for(zoe(), c), "end_user");
  c.role_by_group = {{"nobody", "admin"}, {"zd-agents", "agent"}, {"zd-admins", "admin"}};
  EXPECT_EQ(role_for(zoe(), c), "agent");
  // The token carries the same role.
  EXPECT_EQ(build_ok(zoe(), c)["role"], "agent");
}

TEST(TemplateKey, ReadsUserOrUidBack) {
  auto k = template_key("{user}@acme.com");
  ASSERT_TRUE(k.ok()) << k.error();
  EXPECT_EQ(k->kind, TemplateKey::Kind::user);
  EXPECT_EQ(k->match("alice@acme.com"), "alice");
  EXPECT_FALSE(k->match("alice@other.com").has_value());
  EXPECT_FALSE(k->match("@acme.com").has_value());
  auto u = template_key("linux-{uid}");
  ASSERT_TRUE(u.ok()) << u.error();
  EXPECT_EQ(u->kind, TemplateKey::Kind::uid);
  EXPECT_EQ(u->match("linux-1000"), "1000");
  EXPECT_FALSE(u->match("linux-01000").has_value());
  EXPECT_FALSE(u->match("linux-10a").has_value());
  EXPECT_FALSE(u->match("crm-1000").has_value());
  auto braces = template_key("{{{user}}}");
  ASSERT_TRUE(braces.ok());
  EXPECT_EQ(braces->match("{bob}"), "bob");
}

TEST(TemplateKey, NeedsExactlyOneUserOrUid) {
  EXPECT_FALSE(template_key("static").ok());
  EXPECT_FALSE(template_key("{user}-{uid}").ok());
  EXPECT_FALSE(template_key("{gecos}").ok());
}

}  // namespace
}  // namespace zsso
