// SPDX-License-Identifier: BSD-3-Clause
#include "zsso/policy.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <string>

namespace zsso {
namespace {

NetworkConfig net(std::vector<std::string> ranges) {
  NetworkConfig n;
  n.ip_ranges = ranges;
  auto s = CidrSet::parse(ranges, "network.ip_ranges");
  EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error());
  if (s.ok()) n.ranges = std::move(*s);
  return n;
}

Account user(uid_t uid, std::vector<std::string> groups = {"users"}) {
  Account a;
  a.user = uid == 0 ? std::string("root") : std::string("u").append(std::to_string(uid));
  a.uid = uid;
  a.gid = 100;
  a.group = groups.empty() ? "" : groups.front();
  a.groups = std::move(groups);
  return a;
}

// --- address ---------------------------------------------------------------------

TEST(PolicyAddress, NoRangesAllowsEveryoneEvenWithoutAnAddress) {
  NetworkConfig n;
  EXPECT_TRUE(check_address(n, std::nullopt).allowed());
  EXPECT_TRUE(check_address(n, "garbage").allowed());
  EXPECT_TRUE(check_address(n, "8.8.8.8").allowed());
}

TEST(PolicyAddress, MissingRhostIsDeniedWhenRangesAreSet) {
  NetworkConfig n = net({"10.0.0.0/8"});
  Decision d = check_address(n, std::nullopt);
  EXPECT_FALSE(d.allowed());
  EXPECT_NE(d.reason.find("PAM_RHOST unset"), std::string::npos) << d.reason;
  EXPECT_FALSE(check_address(n, "").allowed());
}

TEST(PolicyAddress, GarbageRhostIsDenied) {
  NetworkConfig n = net({"10.0.0.0/8"});
  for (const char* bad : {"localhost", "10.1.2", "10.1.2.3 ", " 10.1.2.3", "10.1.2.3\n", "10.1.2.3:443",
                          "[::ffff:10.1.2.3]", "10.1.2.3/8", "10.1.2.3,8.8.8.8", "0x0a010203"})
    EXPECT_FALSE(check_address(n, bad).allowed()) << bad;
}

TEST(PolicyAddress, ReasonQuotesHostileRhost) {
  Decision d = check_address(net({"10.0.0.0/8"}), "evil\r\nInjected: line");
  EXPECT_FALSE(d.allowed());
  EXPECT_EQ(d.reason.find('\n'), std::string::npos) << "a log line must stay one line: " << d.reason;
  EXPECT_NE(d.reason.find("\\x0d\\x0a"), std::string::npos) << d.reason;
}

TEST(PolicyAddress, InsideAndOutsideRanges) {
  NetworkConfig n = net({"10.0.0.0/8", "2001:db8::/32", "192.168.*.*"});
  EXPECT_TRUE(check_address(n, "10.255.0.1").allowed());
  EXPECT_TRUE(check_address(n, "192.168.3.4").allowed());
  EXPECT_TRUE(check_address(n, "2001:db8::abcd").allowed());
  EXPECT_FALSE(check_address(n, "11.0.0.1").allowed());
  EXPECT_FALSE(check_address(n, "2001:db9::1").allowed());
  EXPECT_FALSE(check_address(n, "127.0.0.1").allowed());
}

TEST(PolicyAddress, Ipv4MappedRhostMatchesIpv4Range) {
  // Apache on a dual-stack socket reports IPv4 clients as ::ffff:a.b.c.d.
  Decision d = check_address(net({"10.0.0.0/8"}), "::ffff:10.1.2.3");
  EXPECT_TRUE(d.allowed());
  EXPECT_NE(d.reason.find("10.1.2.3"), std::string::npos) << d.reason;
}

// --- account ----------------------------------------------------------------------

TEST(PolicyAccount, RootIsDeniedByDefault) {
  AccessConfig a;
  Decision d = check_account(a, user(0, {"root"}));
  EXPECT_FALSE(d.allowed());
  EXPECT_NE(d.reason.find("allow_root"), std::string::npos) << d.reason;
}

TEST(PolicyAccount, RootIsDeniedEvenWithMinUidZero) {
  AccessConfig a;
  a.min_uid = 0;
  EXPECT_FALSE(check_account(a, user(0, {"root"})).allowed());
}

TEST(PolicyAccount, AllowRootLetsRootInDespiteMinUid) {
  AccessConfig a;
  a.allow_root = true;
  EXPECT_TRUE(check_account(a, user(0, {"root"})).allowed());
}

TEST(PolicyAccount, AllowRootStillHonoursGroups) {
  AccessConfig a;
  a.allow_root = true;
  a.denied_groups = {"root"};
  EXPECT_FALSE(check_account(a, user(0, {"root"})).allowed());
  a.denied_groups = {};
  a.allowed_groups = {"staff"};
  EXPECT_FALSE(check_account(a, user(0, {"root"})).allowed());
}

TEST(PolicyAccount, MinUidBoundary) {
  AccessConfig a;   // min_uid 1000
  Decision d = check_account(a, user(999));
  EXPECT_FALSE(d.allowed());
  EXPECT_NE(d.reason.find("min_uid"), std::string::npos) << d.reason;
  EXPECT_TRUE(check_account(a, user(1000)).allowed());
  EXPECT_TRUE(check_account(a, user(4000000000u)).allowed());
  a.min_uid = 0;
  EXPECT_TRUE(check_account(a, user(1)).allowed());
  a.min_uid = 4294967294;
  EXPECT_FALSE(check_account(a, user(4294967293u)).allowed());
}

TEST(PolicyAccount, DeniedGroupBeatsAllowedGroup) {
  AccessConfig a;
  a.allowed_groups = {"staff"};
  a.denied_groups = {"contractors"};
  Decision d = check_account(a, user(1001, {"users", "staff", "contractors"}));
  EXPECT_FALSE(d.allowed());
  EXPECT_NE(d.reason.find("denied group \"contractors\""), std::string::npos) << d.reason;
}

TEST(PolicyAccount, AllowedGroupsRequireMembership) {
  AccessConfig a;
  a.allowed_groups = {"staff", "it"};
  EXPECT_TRUE(check_account(a, user(1001, {"users", "it"})).allowed());
  Decision d = check_account(a, user(1001, {"users", "Staff", "staffers"}));
  EXPECT_FALSE(d.allowed());
  EXPECT_NE(d.reason.find("allowed_groups"), std::string::npos) << d.reason;
  EXPECT_FALSE(check_account(a, user(1001, {})).allowed());
}

TEST(PolicyAccount, PrimaryGroupCountsForMembership) {
  AccessConfig a;
  a.allowed_groups = {"staff"};
  EXPECT_TRUE(check_account(a, user(1001, {"staff"})).allowed());
}

TEST(PolicyAccount, EmptyAllowedGroupsAllowsAnyGroup) {
  AccessConfig a;
  a.denied_groups = {"banned"};
  EXPECT_TRUE(check_account(a, user(1001, {"users"})).allowed());
  EXPECT_TRUE(check_account(a, user(1001, {})).allowed());
}

// --- both ---------------------------------------------------------------------------

TEST(PolicyAccess, AddressIsCheckedFirst) {
  Config cfg;
  cfg.network = net({"10.0.0.0/8"});
  cfg.access.allow_root = false;
  Decision d = check_access(cfg, user(0, {"root"}), "8.8.8.8");
  EXPECT_FALSE(d.allowed());
  EXPECT_NE(d.reason.find("outside ip_ranges"), std::string::npos) << d.reason;
}

TEST(PolicyAccess, BothMustPass) {
  Config cfg;
  cfg.network = net({"10.0.0.0/8"});
  cfg.access.allowed_groups = {"staff"};
  EXPECT_TRUE(check_access(cfg, user(1001, {"staff"}), "10.0.0.7").allowed());
  EXPECT_FALSE(check_access(cfg, user(1001, {"users"}), "10.0.0.7").allowed());
  EXPECT_FALSE(check_access(cfg, user(1001, {"staff"}), "192.0.2.1").allowed());
  EXPECT_FALSE(check_access(cfg, user(1001, {"staff"}), std::nullopt).allowed());
  EXPECT_FALSE(check_access(cfg, user(500, {"staff"}), "10.0.0.7").allowed());
}

}  // namespace
}  // namespace zsso
