// SPDX-License-Identifier: BSD-3-Clause
#include "throttle.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <pwd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <cstring>

#include "state_dir.hpp"
#include "zsso/cidr.hpp"
#include "zsso/sha256.hpp"
#include "zsso/text.hpp"
#include "zsso/unique_fd.hpp"

namespace zsso::authd {

namespace {

// Hidden test knob: a smaller cap, so a test can fill the store through the
// broker without 10,000 sign-ins (tests/broker/test_broker.py, FullStore).
// Only ever lowers the cap; the packaged units start the broker with a clean
// environment, and whoever sets a daemon's environment owns it anyway.
constexpr const char* kTestCapVariable = "ZSSO_TEST_THROTTLE_CAP";

std::size_t store_cap() {
  std::size_t cap = Throttle::kMaxTallies;
  if (const char* v = std::getenv(kTestCapVariable)) {
    std::size_t n = 0;
    auto [end, ec] = std::from_chars(v, v + std::strlen(v), n);
    if (ec == std::errc{} && *end == '\0' && n >= 2) cap = std::min(cap, n);
  }
  return cap;
}

std::string sha256_hex(std::string_view text, std::size_t bytes = 32) {
  auto md = sha256(text);
  return hex_lower({md.data(), bytes});
}

// File names: a hash of what the tally counts, so the listing names no account.
std::string pair_file(const ThrottleAccount& account, const std::string& address) {
  return sha256_hex(std::string("pair") + '\0' + account.name + '\0' + address, 16);
}
std::string address_file(const std::string& address) { return sha256_hex(std::string("address") + '\0' + address, 16); }

std::string format_tally(const TallyRecord& t) {
  std::string out = "failures " + std::to_string(t.failures) + "\nwindow_start " + std::to_string(t.window_start) +
                    "\nbans " + std::to_string(t.bans) + "\nbanned_until " + std::to_string(t.banned_until) +
                    "\naddress " + t.address + "\n";
  if (t.address_wide) out += "address-wide\n";
  else if (!t.account.empty()) out += "account " + t.account + "\n";
  else out += "account-sha256 " + t.account_sha256 + "\n";
  return out;
}

TallyRecord parse_tally(std::string_view text) {
  TallyRecord t;
  auto number = [](std::string_view v) {
    std::int64_t n = 0;
    std::from_chars(v.data(), v.data() + v.size(), n);
    return n;
  };
  while (!text.empty()) {
    auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    auto sp = line.find(' ');
    std::string_view key = line.substr(0, sp);
    std::string_view value = sp == std::string_view::npos ? std::string_view() : line.substr(sp + 1);
    if (key == "failures") t.failures = number(value);
    else if (key == "window_start") t.window_start = number(value);
    else if (key == "bans") t.bans = number(value);
    else if (key == "banned_until") t.banned_until = number(value);
    else if (key == "address") t.address = value;
    else if (key == "account") t.account = value;
    else if (key == "account-sha256") t.account_sha256 = value;
    else if (key == "address-wide") t.address_wide = true;
  }
  return t;
}

TallyRecord read_tally(int fd) {
  char buf[1024] = {};
  ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
  return n > 0 ? parse_tally({buf, static_cast<std::size_t>(n)}) : TallyRecord{};
}

void write_tally(int fd, const TallyRecord& t) {
  std::string text = format_tally(t);
  // A tally that cannot be written is logged; the next refused() still sees the old one.
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, text.data(), text.size(), 0) != static_cast<ssize_t>(text.size()))
    ::syslog(LOG_ERR, "throttle: writing a tally: %s", errno_text(errno).c_str());
}

// The store's directory, checked on the open descriptor (state_dir.hpp):
// tallies someone else could write or remove would count nothing.
Result<UniqueFd> open_store(const std::string& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd.valid()) return Error{dir + ": " + errno_text(errno)};
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return Error{dir + ": fstat: " + errno_text(errno)};
  if (auto ok = check_state_dir(dir, st); !ok) return Error{ok.error()};
  return fd;
}

// Calls fn(name) for each entry of the open directory dirfd.
template <class Fn>
void for_each_entry(int dirfd, Fn fn) {
  int dup = ::fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
  if (dup < 0) return;
  DIR* d = ::fdopendir(dup);
  if (!d) {
    ::close(dup);
    return;
  }
  ::rewinddir(d);
  while (dirent* e = ::readdir(d))
    if (e->d_name[0] != '.') fn(e->d_name);
  ::closedir(d);
}

class Store {
 public:
  Store(UniqueFd dir, std::size_t cap, std::int64_t stale) : dir_(std::move(dir)), cap_(cap), stale_(stale) {}

  // The tally in `name`, or nothing when there is none.
  std::optional<TallyRecord> read(const std::string& name) const {
    UniqueFd fd(::openat(dir_.get(), name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd.valid()) return std::nullopt;
    ::flock(fd.get(), LOCK_SH);
    return read_tally(fd.get());
  }

  // Room for `need` new tallies: tallies untouched since `stale` go first,
  // then, when still full, the least recently touched ones without a ban
  // running. False when every tally left holds a running ban.
  bool make_room(std::size_t need, std::int64_t now) const {
    struct Candidate {
      std::string name;
      std::int64_t mtime;
    };
    std::vector<Candidate> unbanned;
    std::size_t count = 0;
    bool full_scan = false;
    for (int pass = 0; pass < 2; ++pass) {
      count = 0;
      unbanned.clear();
      for_each_entry(dir_.get(), [&](const char* name) {
        struct stat st {};
        if (::fstatat(dir_.get(), name, &st, AT_SYMLINK_NOFOLLOW) != 0) return;
        if (st.st_mtime < stale_) {
          ::unlinkat(dir_.get(), name, 0);
          return;
        }
        ++count;
        if (!full_scan) return;
        auto t = read(name);
        if (t && t->banned_until <= now) unbanned.push_back({name, st.st_mtime});
      });
      if (count + need <= cap_) return true;
      if (full_scan) break;
      full_scan = true;   // full: read every tally for its ban
    }
    std::sort(unbanned.begin(), unbanned.end(), [](const Candidate& a, const Candidate& b) { return a.mtime < b.mtime; });
    std::size_t evicted = 0;
    for (const auto& c : unbanned) {
      if (count - evicted + need <= cap_) break;
      if (::unlinkat(dir_.get(), c.name.c_str(), 0) == 0) ++evicted;
    }
    if (evicted > 0)
      ::syslog(LOG_WARNING, "throttle: the store holds %zu tallies (at most %zu): forgot the %zu least recently "
                            "used that held no ban", count, cap_, evicted);
    return count - evicted + need <= cap_;
  }

  // Adds one failure to the tally `name` (made, as `blank`, when missing);
  // a ban starts at `limit` failures within the window.
  void count_failure(const std::string& name, const TallyRecord& blank, std::int64_t limit, const BrokerConfig& cfg,
                     std::int64_t now) const {
    const int flags = O_RDWR | O_NOFOLLOW | O_CLOEXEC;
    UniqueFd fd(::openat(dir_.get(), name.c_str(), flags));
    if (!fd.valid()) {
      // One child at a time makes room and creates, so the cap holds.
      ::flock(dir_.get(), LOCK_EX);
      if (make_room(1, now)) fd.reset(::openat(dir_.get(), name.c_str(), flags | O_CREAT, 0600));
      ::flock(dir_.get(), LOCK_UN);
      if (!fd.valid()) {
        ::syslog(LOG_ERR, "throttle: a failure from %s was not counted: the store holds %zu tallies, every one "
                          "with a ban running; sign-ins it cannot count are refused until bans end",
                 blank.address.c_str(), cap_);
        return;
      }
    }
    ::flock(fd.get(), LOCK_EX);
    TallyRecord t = read_tally(fd.get());
    t.address = blank.address;
    t.address_wide = blank.address_wide;
    t.account = blank.account;
    t.account_sha256 = blank.account_sha256;
    if (now - t.window_start > cfg.failure_window) {
      t.failures = 0;
      t.window_start = now;
    }
    if (++t.failures >= limit) {
      // Each further ban lasts twice as long, at most an hour; the window restarts.
      std::int64_t ban = cfg.ban_seconds << std::min<std::int64_t>(t.bans, 12);
      t.banned_until = now + std::min<std::int64_t>(ban, 3600);
      ++t.bans;
      t.failures = 0;
      t.window_start = now;
    }
    write_tally(fd.get(), t);
  }

  void remove(const std::string& name) const { ::unlinkat(dir_.get(), name.c_str(), 0); }
  int fd() const { return dir_.get(); }

 private:
  UniqueFd dir_;
  std::size_t cap_;
  std::int64_t stale_;
};

std::optional<Store> open_checked(const std::string& dir, std::size_t cap, std::int64_t stale, std::string* why) {
  auto fd = open_store(dir);
  if (!fd) {
    if (why) *why = fd.error();
    return std::nullopt;
  }
  return Store(std::move(*fd), cap, stale);
}

}  // namespace

ThrottleAccount throttle_account(std::string_view typed) {
  // Keyed on NSS's spelling, so every spelling of one account shares its
  // tallies. A name NSS does not know stays as typed: spelling an unknown
  // name differently gains an attacker nothing (there is no account to
  // reach, and every failure still counts for their address), while
  // lower-casing it would guess at rules only the directory knows.
  std::string name(typed);
  if (const passwd* pw = ::getpwnam(name.c_str()); pw && pw->pw_name && *pw->pw_name) {
    std::string canonical = pw->pw_name;
    // A name that cannot sit on one line of a tally is kept by its hash only.
    if (!has_control_chars(canonical) && canonical.find(' ') == std::string::npos) return {canonical, true};
    return {canonical, false};
  }
  return {name, false};
}

std::string throttle_address(std::string_view client_address) {
  auto ip = parse_ip(client_address);
  if (!ip) return {};
  if (ip->is_v4()) return ip->to_string();
  IpAddress net = *ip;
  std::fill(net.bytes.begin() + 8, net.bytes.end(), 0);
  return net.to_string() + "/64";
}

std::string throttle_dir(const std::string& socket_path) {
  auto slash = socket_path.rfind('/');
  return slash == std::string::npos ? std::string() : socket_path.substr(0, slash) + "/throttle";
}

Result<std::vector<TallyRecord>> read_tallies(const std::string& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd.valid()) return Error{dir + ": " + errno_text(errno)};
  Store store(std::move(fd), Throttle::kMaxTallies, 0);
  std::vector<TallyRecord> out;
  for_each_entry(store.fd(), [&](const char* name) {
    if (auto t = store.read(name); t && !t->address.empty()) {
      t->file = dir + "/" + name;
      out.push_back(std::move(*t));
    }
  });
  return out;
}

bool tally_is_of(const TallyRecord& t, std::string_view name) {
  if (t.address_wide || name.empty()) return false;
  return (!t.account.empty() && t.account == name) ||
         (!t.account_sha256.empty() && t.account_sha256 == sha256_hex(name));
}

Throttle::Throttle(std::string dir, const BrokerConfig& cfg) : dir_(std::move(dir)), cfg_(cfg), cap_(store_cap()) {}

namespace {

TallyRecord blank_pair(const ThrottleAccount& account, const std::string& address) {
  TallyRecord t;
  t.address = address;
  if (account.known) t.account = account.name;
  else t.account_sha256 = sha256_hex(account.name);
  return t;
}

TallyRecord blank_address(const std::string& address) {
  TallyRecord t;
  t.address = address;
  t.address_wide = true;
  return t;
}

}  // namespace

std::optional<Throttle::Refusal> Throttle::refused(const ThrottleAccount& account, std::string_view client_address,
                                                   std::int64_t now) const {
  if (!enabled()) return std::nullopt;
  const std::string address = throttle_address(client_address);
  if (address.empty()) return std::nullopt;
  std::string why;
  auto store = open_checked(dir_, cap_, now - cfg_.failure_window - 3600, &why);
  if (!store) return Refusal{0, "throttled: the failure store is unusable (" + why + "), and it fails closed"};
  const bool per_address = cfg_.max_failures_per_address > 0;
  auto by_address = per_address ? store->read(address_file(address)) : std::nullopt;
  if (by_address && by_address->banned_until > now)
    return Refusal{by_address->banned_until - now,
                   "throttled: too many failed sign-ins from " + address +
                       ", any account (broker.max_failures_per_address); " +
                       std::to_string(by_address->banned_until - now) + " s left"};
  auto pair = store->read(pair_file(account, address));
  if (pair && pair->banned_until > now)
    return Refusal{pair->banned_until - now, "throttled: too many failed sign-ins of this account from " + address +
                                                 " (broker.max_failures); " +
                                                 std::to_string(pair->banned_until - now) + " s left"};
  // A failure must find room to be counted: made now, or refused now.
  const std::size_t missing = (pair ? 0 : 1) + (per_address && !by_address ? 1 : 0);
  if (missing > 0 && !store->make_room(missing, now))
    return Refusal{0, "throttled: the failure store holds " + std::to_string(cap_) +
                          " tallies, every one with a ban running, so a failure from " + address +
                          " could not be counted; refused until bans end"};
  return std::nullopt;
}

void Throttle::failed(const ThrottleAccount& account, std::string_view client_address, std::int64_t now) const {
  if (!enabled()) return;
  const std::string address = throttle_address(client_address);
  if (address.empty()) return;
  std::string why;
  auto store = open_checked(dir_, cap_, now - cfg_.failure_window - 3600, &why);
  if (!store) {
    ::syslog(LOG_ERR, "throttle: a failure was not counted: %s", why.c_str());
    return;
  }
  store->count_failure(pair_file(account, address), blank_pair(account, address), cfg_.max_failures, cfg_, now);
  if (cfg_.max_failures_per_address > 0)
    store->count_failure(address_file(address), blank_address(address), cfg_.max_failures_per_address, cfg_, now);
}

void Throttle::succeeded(const ThrottleAccount& account, std::string_view client_address) const {
  if (!enabled()) return;
  const std::string address = throttle_address(client_address);
  if (address.empty()) return;
  if (auto store = open_checked(dir_, cap_, 0, nullptr)) store->remove(pair_file(account, address));
}

}  // namespace zsso::authd
