// SPDX-License-Identifier: BSD-3-Clause
// unlock USER [--from ADDR]: lift the broker's bans of one person (its
// throttle/ store, helper/authd/throttle.hpp), and say what pam_faillock,
// the other lock, holds for them and how to reset it. pam_faillock is left
// to its own command: its tallies and its rules belong to the PAM stack.
#include <fcntl.h>
#include <pwd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <regex>

#include "cli.hpp"
#include "throttle.hpp"
#include "zsso/cidr.hpp"
#include "zsso/text.hpp"
#include "zsso/unique_fd.hpp"

namespace zsso::cli {

namespace {

std::string describe(const authd::TallyRecord& t, std::int64_t now) {
  if (t.banned_until > now) return t.address + " (banned, " + std::to_string(t.banned_until - now) + " s left)";
  return t.address + " (" + std::to_string(t.failures) + " failure" + (t.failures == 1 ? "" : "s") + ")";
}

// pam_faillock's folder and deny= as the service's stack gives them (the
// first pam_faillock line naming them), else faillock.conf's, else its default.
struct Faillock {
  bool used = false;
  std::string dir = "/var/run/faillock";
  std::string deny;
  std::string stack;
};

Faillock faillock_of(const std::string& service) {
  Faillock f;
  f.stack = pam_service_path(service);
  std::ifstream in(f.stack);
  std::string line;
  static const std::regex dir_arg(R"((?:^|\s)dir=(\S+))"), deny_arg(R"((?:^|\s)deny=(\d+))");
  bool stack_dir = false;
  while (std::getline(in, line)) {
    auto hash = line.find('#');
    if (hash != std::string::npos) line.resize(hash);
    if (line.find("pam_faillock.so") == std::string::npos) continue;
    f.used = true;
    std::smatch m;
    if (!stack_dir && std::regex_search(line, m, dir_arg)) {
      f.dir = m[1];
      stack_dir = true;
    }
    if (f.deny.empty() && std::regex_search(line, m, deny_arg)) f.deny = m[1];
  }
  if (!stack_dir) {
    std::ifstream conf("/etc/security/faillock.conf");
    static const std::regex conf_dir(R"(^\s*dir\s*=\s*(\S+))");
    while (std::getline(conf, line)) {
      std::smatch m;
      if (std::regex_search(line, m, conf_dir)) f.dir = m[1];
    }
  }
  return f;
}

// pam_faillock's tally file: 64-byte records (source[52], reserved, status, time).
void report_faillock(const Config& cfg, const std::string& user) {
  Faillock f = faillock_of(cfg.pam.service);
  if (!f.used) {
    std::printf("pam_faillock: the PAM service %s does not use it\n", f.stack.c_str());
    return;
  }
  const std::string file = f.dir + "/" + user;
  UniqueFd fd(::open(file.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  const int open_errno = fd.valid() ? 0 : errno;
  std::size_t valid = 0;
  std::string last_source;
  std::uint64_t last_time = 0;
  if (fd.valid()) {
    unsigned char rec[64];
    while (::read(fd.get(), rec, sizeof rec) == static_cast<ssize_t>(sizeof rec)) {
      std::uint16_t status = 0;
      std::uint64_t when = 0;
      std::memcpy(&status, rec + 54, sizeof status);
      std::memcpy(&when, rec + 56, sizeof when);
      if (!(status & 1)) continue;   // TALLY_STATUS_VALID
      ++valid;
      if (when >= last_time) {
        last_time = when;
        last_source.assign(reinterpret_cast<const char*>(rec), ::strnlen(reinterpret_cast<const char*>(rec), 52));
      }
    }
  } else if (open_errno != ENOENT) {
    std::printf("pam_faillock (%s, from %s): cannot read %s: %s (run as root)\n", f.dir.c_str(), f.stack.c_str(),
                file.c_str(), errno_text(open_errno).c_str());
  }
  if (open_errno == 0 || open_errno == ENOENT) {
    std::printf("pam_faillock (%s, from %s): %zu failure%s of %s recorded", f.dir.c_str(), f.stack.c_str(), valid,
                valid == 1 ? "" : "s", user.c_str());
    if (valid > 0) {
      char when[32] = "?";
      std::time_t t = static_cast<std::time_t>(last_time);
      std::tm tm{};
      if (::gmtime_r(&t, &tm)) std::strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", &tm);
      std::printf(", the last from %s at %s", last_source.empty() ? "?" : quote_for_log(last_source).c_str(), when);
    }
    std::printf("%s\n", f.deny.empty() ? " (it locks at faillock.conf's deny=)"
                                       : (" (it locks the account at deny=" + f.deny + ")").c_str());
  }
  std::printf("  reset it with: faillock --dir %s --user %s --reset\n", f.dir.c_str(), user.c_str());
}

}  // namespace

int cmd_unlock(const Context& ctx) {
  auto args = parse_args(ctx.args, {"--from"}, {});
  if (!args || args->positional.size() != 1) {
    std::fprintf(stderr, "zendesk-sso: usage: unlock USER [--from ADDR]\n");
    return kUsage;
  }
  const std::string typed = args->positional[0];
  std::string from;
  if (const std::string* a = args->get("--from")) {
    from = authd::throttle_address(*a);
    if (from.empty()) {
      std::fprintf(stderr, "zendesk-sso: --from %s is not an IPv4 or IPv6 address\n", quote_for_log(*a).c_str());
      return kUsage;
    }
  }
  auto cfg = load_or_report(ctx);
  if (!cfg) return kUsage;
  // The account as the broker counts it (NSS's spelling), and the name as typed.
  std::string user = typed;
  if (const passwd* pw = ::getpwnam(typed.c_str()); pw && pw->pw_name) user = pw->pw_name;

  int rc = kOk;
  if (cfg->broker.socket.empty()) {
    std::printf("broker: none (broker.socket is not set), so no broker bans\n");
  } else {
    const std::string dir = authd::throttle_dir(cfg->broker.socket);
    auto tallies = authd::read_tallies(dir);
    if (!tallies) {
      std::fprintf(stderr, "zendesk-sso: the broker's failure tallies: %s%s\n", tallies.error().c_str(),
                   ::geteuid() != 0 ? " (run as root)" : "");
      rc = kFail;
    } else {
      const std::int64_t now = ::time(nullptr);
      std::vector<std::string> lifted;
      std::vector<const authd::TallyRecord*> address_bans;
      for (const auto& t : *tallies) {
        const bool ours = authd::tally_is_of(t, user) || authd::tally_is_of(t, typed);
        const bool here = from.empty() || t.address == from;
        // With --from the address's own tally goes too: it refuses every account there.
        if (here && (ours || (t.address_wide && !from.empty()))) {
          std::string what = (t.address_wide ? "every account from " : "") + describe(t, now);
          if (::unlink(t.file.c_str()) == 0 || errno == ENOENT) {
            lifted.push_back(what);
          } else {
            std::fprintf(stderr, "zendesk-sso: could not remove the tally of %s (%s): %s\n", what.c_str(),
                         t.file.c_str(), errno_text(errno).c_str());
            rc = kFail;
          }
        } else if (t.address_wide && t.banned_until > now) {
          address_bans.push_back(&t);
        }
      }
      if (lifted.empty() && rc == kOk)
        std::printf("broker (%s): no failures of %s%s: it refuses %s nowhere\n", dir.c_str(), user.c_str(),
                    from.empty() ? "" : (" from " + from).c_str(), user.c_str());
      for (const auto& l : lifted) std::printf("broker (%s): lifted %s: %s\n", dir.c_str(), user.c_str(), l.c_str());
      for (const auto* t : address_bans)
        std::printf("broker: %s refuses every account (broker.max_failures_per_address) for %lld s more; "
                    "zendesk-sso unlock %s --from %s lifts it\n",
                    t->address.c_str(), static_cast<long long>(t->banned_until - now), user.c_str(),
                    t->address.c_str());
    }
  }
  report_faillock(*cfg, user);
  return rc;
}

}  // namespace zsso::cli
