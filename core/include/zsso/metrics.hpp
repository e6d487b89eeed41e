// SPDX-License-Identifier: BSD-3-Clause
// Prometheus metrics without a daemon (issue 24.1). Each writer (the broker:
// listener and children; the CGI: one process per request) adds to its own
// small counter file of a fixed layout, mapped shared and incremented
// atomically; the CGI's /metrics reads every file and sums them. A scrape
// reads files only: it never takes a sign-in slot. The counted pairs are the
// audit events' (audit.hpp), so every decision is counted once, where its
// event is written.
#pragma once

#include <sys/types.h>

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

// The broker's failure throttle (helper/authd/throttle.hpp), counted by the
// listener from the store itself, so a ban that ends by time leaves it too.
struct ThrottleGauges {
  std::int64_t tallies;           // tallies in the store now
  std::int64_t capacity;          // at most; 0: the throttle is off
  std::int64_t banned_pairs;      // (account, address) tallies with a ban running
  std::int64_t banned_addresses;  // address-wide tallies with a ban running
};

// `zendesk-sso sync --apply`'s last run, in the sync's own file (dry runs
// change nothing and are not recorded). seq is odd while it is written.
struct SyncRun {
  std::uint64_t seq;
  std::uint64_t finished;         // seconds since the epoch; 0: never
  std::uint64_t changes;          // users changed in Zendesk
  std::uint64_t failures;         // changes refused, accounts left alone (lookup errors), 1 for a list that could not be read
  std::uint64_t braked;           // 1: the safety brake stopped the run
};

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
  ThrottleGauges throttle;        // the broker's listener
  SyncRun sync;                   // the sync's file
};
inline constexpr std::uint64_t kMagic = 0x7a73736f6d657433ULL;   // "zssomet3" (3: the way "key")

// One writer's file, mapped shared. Invalid (every call a no-op) when the
// file could not be opened: metrics never stop a sign-in.
class Writer {
 public:
  Writer() = default;
  ~Writer();
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;
  // Opens and maps path, creating it when absent if create, and giving it
  // mode when it is the caller's own (whatever the umask).
  Result<void> open(const std::string& path, mode_t mode = 0644, bool create = true);
  bool valid() const { return map_ != nullptr; }

  void count(const audit::Event& ev, std::size_t profile_slot, std::int64_t duration_ms = -1);
  // The listener's gauges: children running, its slots, children holding a conversation.
  void set_gauges(std::int64_t in_progress, std::int64_t slots, std::int64_t conversations);
  void set_throttle(const ThrottleGauges& g);
  void set_started(std::uint64_t t);
  void record_sync(std::uint64_t finished, std::uint64_t changes, std::uint64_t failures, bool braked);

 private:
  Layout* map_ = nullptr;
};

// The sum of the files that exist and have this layout (a missing file adds nothing).
struct Totals {
  Layout sum{};
  Layout broker{};        // the broker's file alone, for its gauges
  bool broker_present = false;
  SyncRun sync{};         // the sync's file's last run
  bool sync_present = false;
};
Totals read(const std::string& broker_file, const std::vector<std::string>& other_files,
            const std::string& sync_file = {});

// Text exposition format 0.0.4; profile_names names token slots 1.. (slot 0: "default").
std::string exposition(const Totals& t, const std::vector<std::string>& profile_names);

// The token slot of a profile ("" is 0; unknown names share the last slot).
std::size_t profile_slot(const std::vector<std::string>& profile_names, const std::string& profile);

}  // namespace zsso::metrics
