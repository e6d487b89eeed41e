// SPDX-License-Identifier: BSD-3-Clause
// Prometheus metrics without a daemon (issue 24.1). Each writer (the broker:
// listener and children; the CGI: one process per request) adds to its own
// small counter file of a fixed layout, mapped shared and incremented
// atomically; the CGI's /metrics reads every file and sums them. A scrape
// reads files only: it never takes a sign-in slot. The counted pairs are the
// audit events' (audit.hpp), so every decision is counted once, where its
// event is written.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "zsso/audit.hpp"
#include "zsso/result.hpp"

namespace zsso::metrics {

// The sign-in duration histogram's upper bounds, in milliseconds (+Inf after them).
inline constexpr std::array<std::uint64_t, 10> kDurationBoundsMs{100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 120000};
// Token slots: 0 the base profile, 1.. the config's profiles in order.
inline constexpr std::size_t kProfileSlots = 64;

// The file's layout; every field a 64-bit counter or gauge. Version in the
// magic: a new layout is a new magic, and an old file is started again.
struct Layout {
  std::uint64_t magic;
  std::uint64_t sign_ins[audit::kWays][audit::kOutcomes];
  std::uint64_t duration_buckets[kDurationBoundsMs.size() + 1];   // not cumulative; the last is +Inf
  std::uint64_t duration_sum_ms;
  std::uint64_t tokens[kProfileSlots];
  std::int64_t in_progress;       // gauges: the broker's listener
  std::int64_t slots;             // broker.max_sign_ins
  std::int64_t conversations;     // children waiting for a browser's answer
  std::uint64_t started;          // the writer's start (seconds since the epoch); 0: never
};
inline constexpr std::uint64_t kMagic = 0x7a73736f6d657431ULL;   // "zssomet1"

// One writer's file, mapped shared. Invalid (every call a no-op) when the
// file could not be opened: metrics never stop a sign-in.
class Writer {
 public:
  Writer() = default;
  ~Writer();
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;
  // Opens (creating it with mode 0644 if absent) and maps path.
  Result<void> open(const std::string& path);
  bool valid() const { return map_ != nullptr; }

  void count(const audit::Event& ev, std::size_t profile_slot, std::int64_t duration_ms = -1);
  void set_gauges(std::int64_t in_progress, std::int64_t slots);
  void add_conversations(std::int64_t delta);
  void set_started(std::uint64_t t);

 private:
  Layout* map_ = nullptr;
};

// The sum of the files that exist and have this layout (a missing file adds nothing).
struct Totals {
  Layout sum{};
  Layout broker{};        // the broker's file alone, for its gauges
  bool broker_present = false;
};
Totals read(const std::string& broker_file, const std::vector<std::string>& other_files);

// Text exposition format 0.0.4; profile_names names token slots 1.. (slot 0: "default").
std::string exposition(const Totals& t, const std::vector<std::string>& profile_names);

// The token slot of a profile ("" is 0; unknown names share the last slot).
std::size_t profile_slot(const std::vector<std::string>& profile_names, const std::string& profile);

}  // namespace zsso::metrics
