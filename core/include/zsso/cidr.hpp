// SPDX-License-Identifier: BSD-3-Clause
// IP addresses and sets of ranges. IPv4 is held as IPv4-mapped IPv6, so
// "::ffff:10.1.2.3" matches "10.0.0.0/8".
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "zsso/result.hpp"

namespace zsso {

struct IpAddress {
  std::array<std::uint8_t, 16> bytes{};
  bool operator==(const IpAddress&) const = default;
  bool is_v4() const;          // IPv4 or IPv4-mapped IPv6
  std::string to_string() const;
};

std::optional<IpAddress> parse_ip(std::string_view text);

class CidrSet {
 public:
  // Each entry is one or more ranges separated by spaces (Zendesk's syntax):
  // CIDR ("10.0.0.0/8", "2001:db8::/32"), a bare address, or an IPv4 pattern
  // with trailing '*' octets ("192.168.*.*"). Errors name key_path[index].
  static Result<CidrSet> parse(const std::vector<std::string>& entries, std::string_view key_path);

  bool empty() const { return lo_.empty(); }
  bool contains(const IpAddress& addr) const;   // O(log n)
  std::size_t interval_count() const { return lo_.size(); }

 private:
  // Disjoint, sorted, merged intervals [lo_[i], hi_[i]] as 128-bit integers.
  std::vector<unsigned __int128> lo_, hi_;
};

// Parses one range ("10.0.0.0/8", "10.1.2.3", "10.*.*.*"); the message says why not.
Result<std::pair<IpAddress, int>> parse_range(std::string_view text);

}  // namespace zsso
