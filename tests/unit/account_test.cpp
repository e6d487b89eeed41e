// SPDX-License-Identifier: BSD-3-Clause
// lookup_account against the machine's real NSS (root, an unknown name) and,
// under nss_wrapper (ctest unit.account_nss_wrapper), against tests/unit/nss/.
#include "zsso/account.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "zsso/claims.hpp"
#include "zsso/config.hpp"
#include "zsso/policy.hpp"

namespace zsso {
namespace {

TEST(Account, LooksUpRoot) {
  AccountLookup r = lookup_account("root");
  ASSERT_EQ(r.status, LookupStatus::found) << r.error;
  EXPECT_EQ(r.account.user, "root");
  EXPECT_EQ(r.account.uid, 0u);
  EXPECT_EQ(r.account.gid, 0u);
  EXPECT_EQ(r.account.home, "/root");
  EXPECT_EQ(r.account.group, "root");
  ASSERT_FALSE(r.account.groups.empty());
  EXPECT_EQ(r.account.groups.front(), "root");   // primary group first
  EXPECT_TRUE(r.account.in_group("root"));
  EXPECT_EQ(r.account.gecos.find(','), std::string::npos);
}

TEST(Account, UnknownUserSaysOnlyUnknownUser) {
  AccountLookup r = lookup_account("zsso-no-such-user-4711");
  EXPECT_EQ(r.status, LookupStatus::unknown);
  EXPECT_EQ(r.error, "unknown user");
}

TEST(Account, HostileNamesAreUnknownNotErrors) {
  for (std::string name : {std::string(), std::string("root\0evil", 9), std::string(300, 'a'), std::string("../root"),
                           std::string("root\n"), std::string("*"), std::string("+root")}) {
    AccountLookup r = lookup_account(name);
    EXPECT_EQ(r.status, LookupStatus::unknown) << name;
    EXPECT_EQ(r.error, "unknown user");
  }
}

TEST(Account, InGroupIsExactMatch) {
  Account a;
  a.groups = {"staff", "zd-agents"};
  EXPECT_TRUE(a.in_group("staff"));
  EXPECT_FALSE(a.in_group("Staff"));
  EXPECT_FALSE(a.in_group("staf"));
  EXPECT_FALSE(a.in_group("zd"));
  EXPECT_FALSE(a.in_group(""));
}

// --- under nss_wrapper -----------------------------------------------------------

class AccountNss : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::getenv("NSS_WRAPPER_PASSWD")) GTEST_SKIP() << "run by ctest unit.account_nss_wrapper";
  }
  static Account must_find(const char* user) {
    AccountLookup r = lookup_account(user);
    EXPECT_EQ(r.status, LookupStatus::found) << user << ": " << r.error;
    return r.account;
  }
};

TEST_F(AccountNss, GecosIsTheFirstCommaSeparatedField) {
  Account a = must_find("zoe");
  EXPECT_EQ(a.gecos, "Zoë Ñandú 李");
  EXPECT_EQ(a.uid, 1001u);
  EXPECT_EQ(a.home, "/home/zoe");
}

TEST_F(AccountNss, GroupsListPrimaryFirstThenSupplementary) {
  Account a = must_find("zoe");
  EXPECT_EQ(a.group, "zoe");
  ASSERT_FALSE(a.groups.empty());
  EXPECT_EQ(a.groups.front(), "zoe");
  for (const char* g : {"staff", "zd-agents", "zd-admins"}) EXPECT_TRUE(a.in_group(g)) << g;
  EXPECT_FALSE(a.in_group("zd-denied"));
  EXPECT_EQ(a.groups.size(), 4u);
}

TEST_F(AccountNss, EmptyGecosIsEmpty) {
  EXPECT_EQ(must_find("nogecos").gecos, "");
}

TEST_F(AccountNss, PrimaryGidWithoutANameGivesEmptyGroup) {
  Account a = must_find("orphan");
  EXPECT_EQ(a.gid, 4242u);
  EXPECT_EQ(a.group, "");
  EXPECT_FALSE(a.in_group(""));
}

TEST_F(AccountNss, UnknownUserUnderWrapper) {
  EXPECT_EQ(lookup_account("mallory").status, LookupStatus::unknown);
}

TEST_F(AccountNss, ClaimsFromARealLookup) {
  auto cfg = parse_config(R"({"zendesk": {"subdomain": "acme"},
    "claims": {"email": "{user}@acme.com", "name": "{gecos}", "external_id": "{uid}",
               "tags_from_groups": ["staff", "it", "zd-agents"],
               "role_by_group": {"zd-admins": "admin", "zd-agents": "agent"}}})");
  ASSERT_TRUE(cfg.ok()) << cfg.error();
  auto j = build_claims(must_find("zoe"), cfg->zendesk, cfg->claims, 1718000000, "jti");
  ASSERT_TRUE(j.ok()) << j.error();
  EXPECT_EQ((*j)["email"], "zoe@acme.com");
  EXPECT_EQ((*j)["name"], "Zoë Ñandú 李");
  EXPECT_EQ((*j)["external_id"], "1001");
  EXPECT_EQ((*j)["tags"], nlohmann::ordered_json::array({"staff", "zd-agents"}));
  EXPECT_EQ((*j)["role"], "admin");
  auto n = build_claims(must_find("nogecos"), cfg->zendesk, cfg->claims, 1718000000, "jti");
  ASSERT_TRUE(n.ok()) << n.error();
  EXPECT_EQ((*n)["name"], "nogecos");   // no GECOS name: the user name
  EXPECT_FALSE(n->contains("role"));
}

TEST_F(AccountNss, PolicyFromARealLookup) {
  auto cfg = parse_config(R"({"zendesk": {"subdomain": "acme"},
    "access": {"allowed_groups": ["staff"], "denied_groups": ["zd-denied"]}})");
  ASSERT_TRUE(cfg.ok()) << cfg.error();
  EXPECT_TRUE(check_account(cfg->access, must_find("zoe")).allowed());
  EXPECT_FALSE(check_account(cfg->access, must_find("nogecos")).allowed());   // denied beats allowed
  EXPECT_FALSE(check_account(cfg->access, must_find("orphan")).allowed());    // in no allowed group
  EXPECT_FALSE(check_account(cfg->access, must_find("root")).allowed());
}

}  // namespace
}  // namespace zsso
