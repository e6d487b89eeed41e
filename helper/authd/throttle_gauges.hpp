// SPDX-License-Identifier: BSD-3-Clause
// The throttle's gauges for /metrics (issue 24.1): the listener, which owns
// the broker's counter file and outlives every child, counts the tallies
// and the bans running from the store itself (throttle.hpp), after children
// end (they are what change the store) and when the next ban ends (time
// alone ends it). A scrape reads the counter file only.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "zsso/metrics.hpp"

namespace zsso::authd {

// What the store holds now; the earliest running ban's end (0: none running).
struct ThrottleCensus {
  metrics::ThrottleGauges gauges{};
  std::int64_t next_ban_end = 0;
};
ThrottleCensus throttle_census(const std::string& dir, std::size_t capacity, std::int64_t now);

class ThrottleGaugeKeeper {
 public:
  using Clock = std::chrono::steady_clock;
  // dir empty: the throttle is off (the gauges say capacity 0).
  ThrottleGaugeKeeper(std::string dir, std::size_t capacity) : dir_(std::move(dir)), capacity_(capacity) {}

  // A child ended: it may have counted a failure or lifted a tally.
  void changed() { dirty_ = true; }
  // When update() has work next (time_point::max(): none).
  Clock::time_point due() const;
  // Counts the store again into the broker's counter file when due.
  void update(Clock::time_point now);

 private:
  // At most once a second: a spray of failures ends a child each time.
  static constexpr std::chrono::seconds kMinInterval{1};
  std::string dir_;
  std::size_t capacity_;
  bool dirty_ = true;
  bool counted_ = false;
  Clock::time_point last_{};
  Clock::time_point ban_ends_ = Clock::time_point::max();
};

}  // namespace zsso::authd
