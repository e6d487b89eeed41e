// SPDX-License-Identifier: BSD-3-Clause
#include "zsso/cidr.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

#include "zsso/text.hpp"

namespace zsso {

namespace {

using u128 = unsigned __int128;

u128 to_u128(const IpAddress& a) {
  u128 v = 0;
  for (auto b : a.bytes) v = (v << 8) | b;
  return v;
}

IpAddress mapped_v4(const unsigned char v4[4]) {
  IpAddress a;
  a.bytes[10] = 0xff;
  a.bytes[11] = 0xff;
  std::memcpy(&a.bytes[12], v4, 4);
  return a;
}

// Mask for a prefix length in the 128-bit space.
u128 host_mask(int prefix128) {
  if (prefix128 >= 128) return 0;
  if (prefix128 <= 0) return ~u128{0};
  return (~u128{0}) >> prefix128;
}

// "192.168.*.*": leading numeric octets, then only '*'.
std::optional<std::pair<IpAddress, int>> parse_star_pattern(std::string_view t) {
  unsigned char v4[4] = {0, 0, 0, 0};
  int octets = 0, numeric = 0;
  bool in_stars = false;
  std::size_t i = 0;
  while (true) {
    auto dot = t.find('.', i);
    std::string_view part = t.substr(i, dot == std::string_view::npos ? std::string_view::npos : dot - i);
    if (octets >= 4) return std::nullopt;
    if (part == "*") {
      in_stars = true;
    } else {
      if (in_stars || part.empty() || part.size() > 3) return std::nullopt;
      unsigned v = 0;
      for (char c : part) {
        if (c < '0' || c > '9') return std::nullopt;
        v = v * 10 + static_cast<unsigned>(c - '0');
      }
      if (v > 255 || (part.size() > 1 && part[0] == '0')) return std::nullopt;
      v4[octets] = static_cast<unsigned char>(v);
      ++numeric;
    }
    ++octets;
    if (dot == std::string_view::npos) break;
    i = dot + 1;
  }
  if (octets != 4 || !in_stars) return std::nullopt;
  return std::make_pair(mapped_v4(v4), 96 + numeric * 8);
}

}  // namespace

bool IpAddress::is_v4() const {
  static const std::uint8_t prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  return std::memcmp(bytes.data(), prefix, 12) == 0;
}

std::string IpAddress::to_string() const {
  char buf[INET6_ADDRSTRLEN];
  if (is_v4()) ::inet_ntop(AF_INET, &bytes[12], buf, sizeof buf);
  else ::inet_ntop(AF_INET6, bytes.data(), buf, sizeof buf);
  return buf;
}

std::optional<IpAddress> parse_ip(std::string_view text) {
  if (text.empty() || text.size() >= INET6_ADDRSTRLEN) return std::nullopt;
  // inet_pton reads a C string: "10.0.0.1\0junk" would pass as 10.0.0.1.
  if (text.find('\0') != std::string_view::npos) return std::nullopt;
  char buf[INET6_ADDRSTRLEN];
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  unsigned char raw[16];
  if (::inet_pton(AF_INET, buf, raw) == 1) return mapped_v4(raw);
  if (::inet_pton(AF_INET6, buf, raw) == 1) {
    IpAddress a;
    std::memcpy(a.bytes.data(), raw, 16);
    return a;
  }
  return std::nullopt;
}

Result<std::pair<IpAddress, int>> parse_range(std::string_view t) {
  if (t.find('*') != std::string_view::npos) {
    auto p = parse_star_pattern(t);
    if (!p) return Error{"is not an address pattern (use e.g. 192.168.*.*)"};
    if (p->second == 96) return Error{"allows every address; leave ip_ranges empty for that"};
    return *p;
  }
  auto slash = t.find('/');
  auto addr = parse_ip(t.substr(0, slash));
  if (!addr) return Error{"is not an IP address or CIDR range"};
  bool v4 = t.substr(0, slash).find(':') == std::string_view::npos;
  int max = v4 ? 32 : 128;
  int prefix = max;
  if (slash != std::string_view::npos) {
    auto p = t.substr(slash + 1);
    if (p.empty() || p.size() > 3 || (p.size() > 1 && p[0] == '0')) return Error{"is not a CIDR range (bad prefix length)"};
    prefix = 0;
    for (char c : p) {
      if (c < '0' || c > '9') return Error{"is not a CIDR range (bad prefix length)"};
      prefix = prefix * 10 + (c - '0');
    }
    if (prefix > max) return Error{"is not a CIDR range (prefix longer than /" + std::to_string(max) + ")"};
    if (prefix == 0) return Error{"allows every address; leave ip_ranges empty for that"};
  }
  int prefix128 = v4 ? prefix + 96 : prefix;
  if (to_u128(*addr) & host_mask(prefix128)) {
    // Strict: "10.1.2.3/8" is more likely a typo than a wish for all of 10/8.
    u128 net = to_u128(*addr) & ~host_mask(prefix128);
    IpAddress n;
    for (int i = 15; i >= 0; --i) { n.bytes[i] = static_cast<std::uint8_t>(net & 0xff); net >>= 8; }
    return Error{"has host bits set (did you mean " + n.to_string() + "/" + std::to_string(prefix) + "?)"};
  }
  return std::make_pair(*addr, prefix128);
}

Result<CidrSet> CidrSet::parse(const std::vector<std::string>& entries, std::string_view key_path) {
  std::vector<std::pair<u128, u128>> iv;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    std::string_view rest = entries[i];
    bool any = false;
    while (true) {
      rest = trim(rest);
      if (rest.empty()) break;
      auto sp = rest.find_first_of(" \t");
      std::string_view tok = rest.substr(0, sp);
      rest = sp == std::string_view::npos ? std::string_view{} : rest.substr(sp);
      auto r = parse_range(tok);
      if (!r)
        return Error{std::string(key_path) + "[" + std::to_string(i) + "]: " + quote_for_log(tok) + " " + r.error()};
      u128 lo = to_u128(r->first);
      iv.emplace_back(lo, lo | host_mask(r->second));
      any = true;
    }
    if (!any) return Error{std::string(key_path) + "[" + std::to_string(i) + "]: empty entry"};
  }
  std::sort(iv.begin(), iv.end());
  CidrSet set;
  for (const auto& [lo, hi] : iv) {
    if (!set.hi_.empty() && (set.hi_.back() == ~u128{0} || lo <= set.hi_.back() + 1)) {
      set.hi_.back() = std::max(set.hi_.back(), hi);
    } else {
      set.lo_.push_back(lo);
      set.hi_.push_back(hi);
    }
  }
  return set;
}

bool CidrSet::contains(const IpAddress& addr) const {
  u128 v = to_u128(addr);
  // First interval starting after v; the one before it is the only candidate.
  auto it = std::upper_bound(lo_.begin(), lo_.end(), v);
  if (it == lo_.begin()) return false;
  return v <= hi_[static_cast<std::size_t>(it - lo_.begin()) - 1];
}

}  // namespace zsso
