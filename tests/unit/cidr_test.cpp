// SPDX-License-Identifier: BSD-3-Clause
#include "zsso/cidr.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace zsso {
namespace {

IpAddress ip(const char* text) {
  auto a = parse_ip(text);
  EXPECT_TRUE(a.has_value()) << text;
  return a.value_or(IpAddress{});
}

CidrSet set_of(std::vector<std::string> entries) {
  auto s = CidrSet::parse(entries, "network.ip_ranges");
  EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error());
  return s.ok() ? std::move(*s) : CidrSet{};
}

std::string parse_error(std::vector<std::string> entries) {
  auto s = CidrSet::parse(entries, "network.ip_ranges");
  EXPECT_FALSE(s.ok());
  return s.ok() ? "" : s.error();
}

// --- addresses ---------------------------------------------------------------

TEST(ParseIp, ParsesIpv4AsIpv4Mapped) {
  IpAddress a = ip("10.1.2.3");
  EXPECT_TRUE(a.is_v4());
  EXPECT_EQ(a, ip("::ffff:10.1.2.3"));
  EXPECT_EQ(a.to_string(), "10.1.2.3");
}

TEST(ParseIp, ParsesIpv6AndPrintsCanonically) {
  IpAddress a = ip("2001:DB8:0:0::1");
  EXPECT_FALSE(a.is_v4());
  EXPECT_EQ(a.to_string(), "2001:db8::1");
  EXPECT_EQ(ip("::1").to_string(), "::1");
}

TEST(ParseIp, RejectsGarbage) {
  for (const char* bad : {"", "1.2.3", "1.2.3.4.5", "256.1.1.1", "::g", "1.2.3.4 ", " 1.2.3.4", "[::1]",
                          "fe80::1%eth0", "localhost", "1.2.3.4/32", "0x0a.0.0.1", "1:2:3:4:5:6:7:8:9",
                          "::ffff:1.2.3.4.5", "aaaa:aaaa:aaaa:aaaa:aaaa:aaaa:aaaa:aaaa:aaaa:aaaa"})
    EXPECT_FALSE(parse_ip(bad).has_value()) << bad;
}

TEST(ParseIp, RejectsLeadingZerosInIpv4) {
  // "010" is octal to inet_aton; we refuse the ambiguity.
  EXPECT_FALSE(parse_ip("010.1.2.3").has_value());
  EXPECT_FALSE(parse_ip("10.01.2.3").has_value());
}

TEST(ParseIp, RejectsEmbeddedNul) {
  EXPECT_FALSE(parse_ip(std::string("10.0.0.1\0junk", 13)).has_value());
  EXPECT_FALSE(parse_ip(std::string("::1\0", 4)).has_value());
  EXPECT_FALSE(parse_range(std::string("10.0.0.0\0/8", 11)).ok());
}

// --- single ranges -----------------------------------------------------------

TEST(ParseRange, BareIpv4HostIsSlash32) {
  auto r = parse_range("10.1.2.3");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->first, ip("10.1.2.3"));
  EXPECT_EQ(r->second, 128);   // /32 in the IPv4-mapped space
}

TEST(ParseRange, BareIpv6HostIsSlash128) {
  auto r = parse_range("2001:db8::7");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->second, 128);
}

TEST(ParseRange, Ipv4PrefixIsShiftedIntoMappedSpace) {
  auto r = parse_range("10.0.0.0/8");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->second, 104);
}

TEST(ParseRange, ZendeskStarPatterns) {
  auto r = parse_range("192.168.*.*");
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->first, ip("192.168.0.0"));
  EXPECT_EQ(r->second, 96 + 16);
  auto r3 = parse_range("10.1.2.*");
  ASSERT_TRUE(r3.ok());
  EXPECT_EQ(r3->second, 96 + 24);
  auto r1 = parse_range("10.*.*.*");
  ASSERT_TRUE(r1.ok());
  EXPECT_EQ(r1->second, 96 + 8);
}

TEST(ParseRange, RejectsPrefixLongerThanTheFamily) {
  auto r = parse_range("10.0.0.0/33");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("/32"), std::string::npos) << r.error();
  auto r6 = parse_range("2001:db8::/129");
  ASSERT_FALSE(r6.ok());
  EXPECT_NE(r6.error().find("/128"), std::string::npos) << r6.error();
}

TEST(ParseRange, RejectsBrokenAddresses) {
  for (const char* bad : {"1.2.3", "::g", "1.2.3/24", "10.0.0.0.0/8", "abc", "/0", "/8", "", " "})
    EXPECT_FALSE(parse_range(bad).ok()) << bad;
}

TEST(ParseRange, RejectsBrokenPrefixLengths) {
  for (const char* bad : {"10.0.0.0/", "10.0.0.0/-1", "10.0.0.0/+8", "10.0.0.0/08", "10.0.0.0/8/8",
                          "10.0.0.0/8a", "10.0.0.0/ 8", "10.0.0.0/0008", "2001:db8::/032", "10.0.0.0/1000"})
    EXPECT_FALSE(parse_range(bad).ok()) << bad;
}

TEST(ParseRange, RejectsEverythingRanges) {
  for (const char* bad : {"0.0.0.0/0", "::/0", "*.*.*.*"}) {
    auto r = parse_range(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.error().find("every address"), std::string::npos) << r.error();
  }
}

TEST(ParseRange, RejectsHostBitsAndSuggestsTheNetwork) {
  auto r = parse_range("10.1.2.3/8");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("did you mean 10.0.0.0/8"), std::string::npos) << r.error();
  auto r6 = parse_range("2001:db8::1/32");
  ASSERT_FALSE(r6.ok());
  EXPECT_NE(r6.error().find("did you mean 2001:db8::/32"), std::string::npos) << r6.error();
}

TEST(ParseRange, RejectsStarsBeforeNumbersAndOtherBadPatterns) {
  for (const char* bad : {"1.*.2.*", "*.1.*.*", "192.168.*", "192.168.*.*.*", "192.168.**.*", "192.168.*.1",
                          "256.*.*.*", "-1.*.*.*", "192.068.*.*", "192..*.*", "192.168.*.*/16", "*",
                          "2001:db8::*", "1a.*.*.*"})
    EXPECT_FALSE(parse_range(bad).ok()) << bad;
}

TEST(ParseRange, RejectsLeadingZeros) {
  EXPECT_FALSE(parse_range("010.0.0.0/8").ok());
  EXPECT_FALSE(parse_range("10.000.0.0/16").ok());
  EXPECT_TRUE(parse_range("10.0.0.0/16").ok());
}

// --- sets --------------------------------------------------------------------

TEST(CidrSet, Ipv4MappedAddressMatchesIpv4Range) {
  CidrSet s = set_of({"10.0.0.0/8"});
  EXPECT_TRUE(s.contains(ip("::ffff:10.200.3.4")));
  EXPECT_TRUE(s.contains(ip("10.200.3.4")));
  EXPECT_FALSE(s.contains(ip("::ffff:11.0.0.0")));
}

TEST(CidrSet, Ipv4MappedRangeMatchesIpv4Address) {
  CidrSet s = set_of({"::ffff:10.0.0.0/104"});
  EXPECT_TRUE(s.contains(ip("10.9.9.9")));
  EXPECT_FALSE(s.contains(ip("11.0.0.1")));
}

TEST(CidrSet, Ipv4RangeDoesNotMatchOtherIpv6Forms) {
  CidrSet s = set_of({"10.0.0.0/8"});
  EXPECT_FALSE(s.contains(ip("::10.1.2.3")));        // IPv4-compatible, not mapped
  EXPECT_FALSE(s.contains(ip("a01:203::")));
  EXPECT_FALSE(s.contains(ip("64:ff9b::10.1.2.3")));  // NAT64
}

TEST(CidrSet, Ipv6RangeBoundaries) {
  CidrSet s = set_of({"2001:db8::/32"});
  EXPECT_TRUE(s.contains(ip("2001:db8::")));
  EXPECT_TRUE(s.contains(ip("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff")));
  EXPECT_FALSE(s.contains(ip("2001:db7:ffff:ffff:ffff:ffff:ffff:ffff")));
  EXPECT_FALSE(s.contains(ip("2001:db9::")));
  EXPECT_FALSE(s.contains(ip("10.0.0.1")));
}

TEST(CidrSet, Ipv4RangeBoundaries) {
  CidrSet s = set_of({"192.168.4.0/22"});
  EXPECT_FALSE(s.contains(ip("192.168.3.255")));
  EXPECT_TRUE(s.contains(ip("192.168.4.0")));
  EXPECT_TRUE(s.contains(ip("192.168.7.255")));
  EXPECT_FALSE(s.contains(ip("192.168.8.0")));
}

TEST(CidrSet, BareHostMatchesOnlyItself) {
  CidrSet s = set_of({"10.0.0.5", "2001:db8::5"});
  EXPECT_TRUE(s.contains(ip("10.0.0.5")));
  EXPECT_FALSE(s.contains(ip("10.0.0.4")));
  EXPECT_FALSE(s.contains(ip("10.0.0.6")));
  EXPECT_TRUE(s.contains(ip("2001:db8::5")));
  EXPECT_FALSE(s.contains(ip("2001:db8::6")));
}

TEST(CidrSet, StarPatternMatchesLikeCidr) {
  CidrSet s = set_of({"192.168.*.*"});
  EXPECT_TRUE(s.contains(ip("192.168.0.0")));
  EXPECT_TRUE(s.contains(ip("192.168.255.255")));
  EXPECT_FALSE(s.contains(ip("192.169.0.0")));
  EXPECT_FALSE(s.contains(ip("192.167.255.255")));
}

TEST(CidrSet, SpaceSeparatedEntryHoldsSeveralRanges) {
  // Zendesk's own syntax: one string, ranges separated by spaces.
  CidrSet s = set_of({"  10.0.0.0/8 192.168.1.0/25\t2001:db8::/32  172.16.*.* "});
  EXPECT_TRUE(s.contains(ip("10.1.1.1")));
  EXPECT_TRUE(s.contains(ip("192.168.1.127")));
  EXPECT_FALSE(s.contains(ip("192.168.1.128")));
  EXPECT_TRUE(s.contains(ip("2001:db8::1")));
  EXPECT_TRUE(s.contains(ip("172.16.9.9")));
  EXPECT_FALSE(s.contains(ip("172.17.0.0")));
}

TEST(CidrSet, EmptyListIsEmptySetAndContainsNothing) {
  CidrSet s = set_of({});
  EXPECT_TRUE(s.empty());
  EXPECT_FALSE(s.contains(ip("10.0.0.1")));
}

TEST(CidrSet, ErrorNamesKeyPathIndexAndValue) {
  std::string e = parse_error({"10.0.0.0/8", "192.168.0.0/16", "10.0.0.0/33"});
  EXPECT_EQ(e.rfind("network.ip_ranges[2]: \"10.0.0.0/33\" ", 0), 0u) << e;
  EXPECT_NE(e.find("not a CIDR range"), std::string::npos) << e;
}

TEST(CidrSet, ErrorNamesTheBadTokenInsideASpaceSeparatedEntry) {
  std::string e = parse_error({"10.0.0.0/8 1.2.3 192.168.0.0/16"});
  EXPECT_EQ(e.rfind("network.ip_ranges[0]: \"1.2.3\" ", 0), 0u) << e;
}

TEST(CidrSet, RejectsEmptyAndBlankEntries) {
  EXPECT_NE(parse_error({"10.0.0.0/8", ""}).find("network.ip_ranges[1]: empty entry"), std::string::npos);
  EXPECT_NE(parse_error({"   "}).find("network.ip_ranges[0]: empty entry"), std::string::npos);
}

TEST(CidrSet, ErrorsQuoteControlCharacters) {
  std::string e = parse_error({"10.0.0.0/8\x1b[31m"});
  EXPECT_EQ(e.find('\x1b'), std::string::npos) << "raw escape byte must not reach logs";
  EXPECT_NE(e.find("\\x1b"), std::string::npos) << e;
}

TEST(CidrSet, MergesOverlappingAndAdjacentRanges) {
  EXPECT_EQ(set_of({"10.0.0.0/8", "10.1.0.0/16", "10.2.3.4"}).interval_count(), 1u);
  EXPECT_EQ(set_of({"10.0.0.0/9", "10.128.0.0/9"}).interval_count(), 1u);   // adjacent halves
  EXPECT_EQ(set_of({"10.0.0.1", "10.0.0.2"}).interval_count(), 1u);
  EXPECT_EQ(set_of({"10.0.0.1", "10.0.0.3"}).interval_count(), 2u);
  EXPECT_EQ(set_of({"10.0.0.0/8", "10.0.0.0/8"}).interval_count(), 1u);
  EXPECT_EQ(set_of({"192.168.*.*", "192.168.0.0/16", "10.0.0.0/8"}).interval_count(), 2u);
  CidrSet s = set_of({"10.128.0.0/9", "10.0.0.0/9"});
  EXPECT_TRUE(s.contains(ip("10.127.255.255")));
  EXPECT_TRUE(s.contains(ip("10.128.0.0")));
}

TEST(CidrSet, HandlesTheTopOfTheAddressSpace) {
  CidrSet s = set_of({"8000::/1", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "::1"});
  EXPECT_EQ(s.interval_count(), 2u);
  EXPECT_TRUE(s.contains(ip("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")));
  EXPECT_TRUE(s.contains(ip("8000::")));
  EXPECT_FALSE(s.contains(ip("7fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")));
  EXPECT_TRUE(s.contains(ip("::1")));
  EXPECT_FALSE(s.contains(ip("::")));
  EXPECT_FALSE(s.contains(ip("::2")));
}

// --- randomised agreement with a brute-force check ---------------------------

using u128 = unsigned __int128;

IpAddress from_u128(u128 v) {
  IpAddress a;
  for (int i = 15; i >= 0; --i) {
    a.bytes[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(v & 0xff);
    v >>= 8;
  }
  return a;
}

u128 mask_of(int prefix128) { return prefix128 == 0 ? 0 : (~u128{0}) << (128 - prefix128); }

TEST(CidrSet, ContainsAgreesWithBruteForceOverTenThousandRandomRanges) {
  std::mt19937_64 rng(0x5eed2024);
  struct Range { u128 net, mask; };
  std::vector<Range> ranges;
  std::vector<std::string> entries;
  const u128 v4_prefix = u128{0xffff} << 32;
  for (int i = 0; i < 10000; ++i) {
    bool v4 = rng() % 2 == 0;
    std::string text;
    u128 net, mask;
    if (v4) {
      int prefix = 8 + static_cast<int>(rng() % 25);   // /8 .. /32
      mask = mask_of(96 + prefix);
      net = (v4_prefix | (rng() & 0xffffffffu)) & mask;
      text = from_u128(net).to_string();
      if (prefix != 32 || rng() % 2) {   // appended, not "/" + a temporary: gcc 12 -O3's -Wrestrict false positive
        text += '/';
        text += std::to_string(prefix);
      }
    } else {
      int prefix = 16 + static_cast<int>(rng() % 113);   // /16 .. /128, inside 2000::/4
      mask = mask_of(prefix);
      u128 raw = (u128{rng()} << 64) | rng();
      raw = (raw & ~(u128{0xf} << 124)) | (u128{0x2} << 124);
      net = raw & mask;
      text = from_u128(net).to_string();
      text += '/';
      text += std::to_string(prefix);
    }
    ranges.push_back({net, mask});
    entries.push_back(text);
  }
  auto parsed = CidrSet::parse(entries, "network.ip_ranges");
  ASSERT_TRUE(parsed.ok()) << parsed.error();
  const CidrSet& set = *parsed;

  auto brute = [&](u128 v) {
    for (const auto& r : ranges)
      if ((v & r.mask) == r.net) return true;
    return false;
  };
  int inside = 0, outside = 0;
  for (int q = 0; q < 6000; ++q) {
    const Range& r = ranges[rng() % ranges.size()];
    u128 v;
    switch (q % 4) {
      case 0: v = r.net | ((((u128{rng()} << 64) | rng())) & ~r.mask); break;   // inside this range
      case 1: v = r.net - 1; break;                                            // just below
      case 2: v = (r.net | ~r.mask) + 1; break;                                // just above
      default:                                                                 // anywhere nearby
        v = (q % 8 == 3) ? (v4_prefix | (rng() & 0xffffffffu))
                         : ((u128{0x2} << 124) | (((u128{rng()} << 64) | rng()) >> 4));
    }
    bool expect = brute(v);
    (expect ? inside : outside)++;
    ASSERT_EQ(set.contains(from_u128(v)), expect) << from_u128(v).to_string();
  }
  // The draw must exercise both answers, or the check proves little.
  EXPECT_GT(inside, 1000);
  EXPECT_GT(outside, 1000);
  EXPECT_LT(set.interval_count(), 10000u + 1);
}

}  // namespace
}  // namespace zsso
