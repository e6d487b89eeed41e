// SPDX-License-Identifier: BSD-3-Clause
#include "zsso/metrics.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "zsso/text.hpp"
#include "zsso/unique_fd.hpp"

namespace zsso::metrics {

namespace {

void add(std::uint64_t& field, std::uint64_t n) { __atomic_fetch_add(&field, n, __ATOMIC_RELAXED); }
template <class T>
T load(const T& field) { return __atomic_load_n(&field, __ATOMIC_RELAXED); }
template <class T>
void store(T& field, T v) { __atomic_store_n(&field, v, __ATOMIC_RELAXED); }

// Reads one file into out; false when it is missing or not of this layout.
bool read_file(const std::string& path, Layout& out) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd.valid()) return false;
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode) || st.st_size != static_cast<off_t>(sizeof(Layout)))
    return false;
  void* m = ::mmap(nullptr, sizeof(Layout), PROT_READ, MAP_SHARED, fd.get(), 0);
  if (m == MAP_FAILED) return false;
  const Layout& l = *static_cast<const Layout*>(m);
  bool ok = load(l.magic) == kMagic;
  if (ok) {
    // Field by field, atomically: a writer may be adding at this moment.
    out.magic = kMagic;
    for (std::size_t w = 0; w < audit::kWays; ++w)
      for (std::size_t o = 0; o < audit::kOutcomes; ++o) out.sign_ins[w][o] = load(l.sign_ins[w][o]);
    for (std::size_t b = 0; b <= kDurationBoundsMs.size(); ++b) out.duration_buckets[b] = load(l.duration_buckets[b]);
    out.duration_sum_ms = load(l.duration_sum_ms);
    for (std::size_t p = 0; p < kProfileSlots; ++p) out.tokens[p] = load(l.tokens[p]);
    out.in_progress = load(l.in_progress);
    out.slots = load(l.slots);
    out.conversations = load(l.conversations);
    out.started = load(l.started);
    out.throttle = {load(l.throttle.tallies), load(l.throttle.capacity), load(l.throttle.banned_pairs),
                    load(l.throttle.banned_addresses)};
    // The sync's fields as one run: read again while a run is being recorded.
    for (int tries = 0; tries < 100; ++tries) {
      const std::uint64_t seq = __atomic_load_n(&l.sync.seq, __ATOMIC_ACQUIRE);
      if (seq % 2 != 0) continue;
      out.sync = {seq, load(l.sync.finished), load(l.sync.changes), load(l.sync.failures), load(l.sync.braked)};
      __atomic_thread_fence(__ATOMIC_ACQUIRE);
      if (__atomic_load_n(&l.sync.seq, __ATOMIC_RELAXED) == seq) break;
    }
  }
  ::munmap(m, sizeof(Layout));
  return ok;
}

void add_into(Layout& sum, const Layout& l) {
  for (std::size_t w = 0; w < audit::kWays; ++w)
    for (std::size_t o = 0; o < audit::kOutcomes; ++o) sum.sign_ins[w][o] += l.sign_ins[w][o];
  for (std::size_t b = 0; b <= kDurationBoundsMs.size(); ++b) sum.duration_buckets[b] += l.duration_buckets[b];
  sum.duration_sum_ms += l.duration_sum_ms;
  for (std::size_t p = 0; p < kProfileSlots; ++p) sum.tokens[p] += l.tokens[p];
}

// A label value as the exposition format wants it: \ " and newline escaped.
std::string label(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') { out += "\\n"; continue; }
    out += c;
  }
  return out;
}

}  // namespace

Writer::~Writer() {
  if (map_) ::munmap(map_, sizeof(Layout));
}

Result<void> Writer::open(const std::string& path, mode_t mode, bool create) {
  UniqueFd fd(::open(path.c_str(), O_RDWR | (create ? O_CREAT : 0) | O_CLOEXEC | O_NOFOLLOW, mode));
  if (!fd.valid()) return Error{path + ": " + errno_text(errno)};
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return Error{path + ": fstat: " + errno_text(errno)};
  if (!S_ISREG(st.st_mode)) return Error{path + ": not a regular file"};
  // Readable by /metrics (the web server's user) whatever the umask: the
  // broker's unit has UMask=0077, which made it 0600 and every count unseen.
  if (st.st_uid == ::geteuid() && (st.st_mode & 07777) != mode && ::fchmod(fd.get(), mode) != 0)
    return Error{path + ": fchmod: " + errno_text(errno)};
  // A new file, or another layout's: started again (zeros, then the magic).
  if (st.st_size != static_cast<off_t>(sizeof(Layout))) {
    if (::ftruncate(fd.get(), 0) != 0 || ::ftruncate(fd.get(), sizeof(Layout)) != 0)
      return Error{path + ": ftruncate: " + errno_text(errno)};
  }
  void* m = ::mmap(nullptr, sizeof(Layout), PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0);
  if (m == MAP_FAILED) return Error{path + ": mmap: " + errno_text(errno)};
  map_ = static_cast<Layout*>(m);
  if (load(map_->magic) != kMagic) {
    // Another layout (or a fresh file): zeros first, the magic last.
    std::uint64_t expected = load(map_->magic);
    if (expected != 0) std::memset(reinterpret_cast<char*>(map_) + sizeof map_->magic, 0, sizeof(Layout) - sizeof map_->magic);
    __atomic_compare_exchange_n(&map_->magic, &expected, kMagic, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
  }
  return {};
}

void Writer::count(const audit::Event& ev, std::size_t profile_slot, std::int64_t duration_ms) {
  if (!map_) return;
  add(map_->sign_ins[static_cast<std::size_t>(ev.way)][static_cast<std::size_t>(ev.outcome)], 1);
  if (ev.outcome == audit::Outcome::signed_in) add(map_->tokens[std::min(profile_slot, kProfileSlots - 1)], 1);
  if (duration_ms >= 0) {
    const auto ms = static_cast<std::uint64_t>(duration_ms);
    std::size_t b = 0;
    while (b < kDurationBoundsMs.size() && ms > kDurationBoundsMs[b]) ++b;
    add(map_->duration_buckets[b], 1);
    add(map_->duration_sum_ms, ms);
  }
}

void Writer::set_gauges(std::int64_t in_progress, std::int64_t slots, std::int64_t conversations) {
  if (!map_) return;
  store(map_->in_progress, in_progress);
  store(map_->slots, slots);
  store(map_->conversations, conversations);
}

void Writer::set_throttle(const ThrottleGauges& g) {
  if (!map_) return;
  store(map_->throttle.tallies, g.tallies);
  store(map_->throttle.capacity, g.capacity);
  store(map_->throttle.banned_pairs, g.banned_pairs);
  store(map_->throttle.banned_addresses, g.banned_addresses);
}

void Writer::record_sync(std::uint64_t finished, std::uint64_t changes, std::uint64_t failures, bool braked) {
  if (!map_) return;
  SyncRun& s = map_->sync;
  // Odd while written (one writer: sync runs are not concurrent, and a
  // torn pair of runs would only show for one scrape).
  const std::uint64_t seq = load(s.seq);
  __atomic_store_n(&s.seq, seq | 1, __ATOMIC_RELAXED);
  __atomic_thread_fence(__ATOMIC_RELEASE);
  store(s.finished, finished);
  store(s.changes, changes);
  store(s.failures, failures);
  store(s.braked, std::uint64_t{braked});
  __atomic_store_n(&s.seq, (seq | 1) + 1, __ATOMIC_RELEASE);
}

void Writer::set_started(std::uint64_t t) {
  if (map_) store(map_->started, t);
}

Totals read(const std::string& broker_file, const std::vector<std::string>& other_files, const std::string& sync_file) {
  Totals t;
  if (!broker_file.empty() && read_file(broker_file, t.broker)) {
    t.broker_present = true;
    add_into(t.sum, t.broker);
  }
  for (const auto& f : other_files) {
    Layout l{};
    if (read_file(f, l)) add_into(t.sum, l);
  }
  Layout s{};
  if (!sync_file.empty() && read_file(sync_file, s)) {
    t.sync = s.sync;
    t.sync_present = true;
  }
  return t;
}

std::size_t profile_slot(const std::vector<std::string>& profile_names, const std::string& profile) {
  if (profile.empty()) return 0;
  auto it = std::find(profile_names.begin(), profile_names.end(), profile);
  if (it == profile_names.end()) return kProfileSlots - 1;
  return std::min<std::size_t>(static_cast<std::size_t>(it - profile_names.begin()) + 1, kProfileSlots - 1);
}

std::string exposition(const Totals& t, const std::vector<std::string>& profile_names) {
  std::string out;
  auto line = [&out](const std::string& s) { out += s; out += '\n'; };
  // One unlabelled gauge: its help, its type, its value.
  auto gauge = [&line](const std::string& name, const std::string& help, auto value) {
    line("# HELP " + name + " " + help);
    line("# TYPE " + name + " gauge");
    line(name + " " + std::to_string(value));
  };
  line("# HELP zendesk_sso_sign_ins_total Sign-in decisions, each counted once where it was decided.");
  line("# TYPE zendesk_sso_sign_ins_total counter");
  for (auto w : audit::kAllWays)
    for (auto o : audit::kAllOutcomes)
      line("zendesk_sso_sign_ins_total{way=\"" + std::string(audit::name(w)) + "\",outcome=\"" +
           std::string(audit::name(o)) + "\"} " +
           std::to_string(t.sum.sign_ins[static_cast<std::size_t>(w)][static_cast<std::size_t>(o)]));
  line("# HELP zendesk_sso_tokens_minted_total Tokens delivered to Zendesk, by config profile.");
  line("# TYPE zendesk_sso_tokens_minted_total counter");
  for (std::size_t p = 0; p <= std::min(profile_names.size(), kProfileSlots - 1); ++p)
    line("zendesk_sso_tokens_minted_total{profile=\"" + (p == 0 ? std::string("default") : label(profile_names[p - 1])) +
         "\"} " + std::to_string(t.sum.tokens[p]));
  line("# HELP zendesk_sso_broker_sign_in_duration_seconds Time the broker took for a sign-in, from its request to its answer.");
  line("# TYPE zendesk_sso_broker_sign_in_duration_seconds histogram");
  std::uint64_t cumulative = 0;
  for (std::size_t b = 0; b <= kDurationBoundsMs.size(); ++b) {
    cumulative += t.sum.duration_buckets[b];
    std::string le = "+Inf";
    if (b < kDurationBoundsMs.size()) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%g", static_cast<double>(kDurationBoundsMs[b]) / 1000.0);
      le = buf;
    }
    line("zendesk_sso_broker_sign_in_duration_seconds_bucket{le=\"" + le + "\"} " + std::to_string(cumulative));
  }
  char sum[48];
  std::snprintf(sum, sizeof sum, "%.3f", static_cast<double>(t.sum.duration_sum_ms) / 1000.0);
  line("zendesk_sso_broker_sign_in_duration_seconds_sum " + std::string(sum));
  line("zendesk_sso_broker_sign_in_duration_seconds_count " + std::to_string(cumulative));
  line("# HELP zendesk_sso_broker_up Whether the broker's counter file was found (1) or not (0).");
  line("# TYPE zendesk_sso_broker_up gauge");
  line("zendesk_sso_broker_up " + std::string(t.broker_present ? "1" : "0"));
  if (t.broker_present) {
    gauge("zendesk_sso_broker_sign_ins_in_progress",
          "Broker children running now (sign-ins and conversations).",
          t.broker.in_progress);
    gauge("zendesk_sso_broker_conversations_in_progress",
          "Sign-ins waiting for the browser's answer to a prompt.",
          std::max<std::int64_t>(0, t.broker.conversations));
    gauge("zendesk_sso_broker_slots_left",
          "Sign-ins the broker may still start (broker.max_sign_ins minus those running).",
          std::max<std::int64_t>(0, t.broker.slots - t.broker.in_progress));
    gauge("zendesk_sso_broker_start_time_seconds", "When the broker's listener started.", t.broker.started);
    const ThrottleGauges& th = t.broker.throttle;
    if (th.capacity > 0) {
      line("# HELP zendesk_sso_throttle_banned Failure tallies with a ban running now, by kind (broker.max_failures: an account from an address; broker.max_failures_per_address: an address, any account).");
      line("# TYPE zendesk_sso_throttle_banned gauge");
      line("zendesk_sso_throttle_banned{tally=\"account_address\"} " + std::to_string(th.banned_pairs));
      line("zendesk_sso_throttle_banned{tally=\"address\"} " + std::to_string(th.banned_addresses));
      gauge("zendesk_sso_throttle_tallies", "Failure tallies the broker's throttle store holds now.", th.tallies);
      gauge("zendesk_sso_throttle_tallies_capacity",
            "Failure tallies the store may hold; when every one holds a ban, sign-ins it cannot count are refused.",
            th.capacity);
    }
  }
  if (t.sync_present && t.sync.finished > 0) {
    gauge("zendesk_sso_sync_last_run_timestamp_seconds",
          "When the last `zendesk-sso sync --apply` ended.",
          t.sync.finished);
    gauge("zendesk_sso_sync_last_run_changes", "Users the last sync changed in Zendesk.", t.sync.changes);
    gauge("zendesk_sso_sync_last_run_failures",
          "Changes Zendesk refused, accounts left alone on a lookup error, and 1 for a user list that could not be read, in the last sync.",
          t.sync.failures);
    gauge("zendesk_sso_sync_last_run_braked",
          "Whether the safety brake (api.max_change_fraction) stopped the last sync (1) or not (0).",
          t.sync.braked);
  }
  return out;
}

}  // namespace zsso::metrics
