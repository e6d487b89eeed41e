// SPDX-License-Identifier: BSD-3-Clause
#include "throttle_gauges.hpp"

#include <algorithm>
#include <ctime>

#include "audit_log.hpp"
#include "throttle.hpp"

namespace zsso::authd {

ThrottleCensus throttle_census(const std::string& dir, std::size_t capacity, std::int64_t now) {
  ThrottleCensus c;
  c.gauges.capacity = static_cast<std::int64_t>(capacity);
  auto tallies = read_tallies(dir);
  if (!tallies) return c;
  c.gauges.tallies = static_cast<std::int64_t>(tallies->size());
  for (const auto& t : *tallies) {
    if (t.banned_until <= now) continue;
    ++(t.address_wide ? c.gauges.banned_addresses : c.gauges.banned_pairs);
    if (c.next_ban_end == 0 || t.banned_until < c.next_ban_end) c.next_ban_end = t.banned_until;
  }
  return c;
}

ThrottleGaugeKeeper::Clock::time_point ThrottleGaugeKeeper::due() const {
  if (dir_.empty() || !counters().valid()) return Clock::time_point::max();
  auto at = ban_ends_;
  if (dirty_) at = std::min(at, counted_ ? last_ + kMinInterval : Clock::time_point{});
  return at;
}

void ThrottleGaugeKeeper::update(Clock::time_point now) {
  if (now < due()) return;
  const std::int64_t wall = static_cast<std::int64_t>(::time(nullptr));
  ThrottleCensus c = throttle_census(dir_, capacity_, wall);
  counters().set_throttle(c.gauges);
  dirty_ = false;
  counted_ = true;
  last_ = now;
  // A ban ends at banned_until: counted again the second after.
  ban_ends_ = c.next_ban_end == 0 ? Clock::time_point::max() : now + std::chrono::seconds(c.next_ban_end - wall + 1);
}

}  // namespace zsso::authd
