// SPDX-License-Identifier: BSD-3-Clause
#include "listener.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include <dirent.h>

#include <chrono>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <set>

#include "audit_log.hpp"
#include "peer.hpp"
#include "state_dir.hpp"
#include "throttle.hpp"
#include "warm.hpp"
#include "zsso/broker_protocol.hpp"
#include "zsso/config.hpp"
#include "zsso/text.hpp"
#include "zsso/unique_fd.hpp"

namespace zsso::authd {

namespace {

void log_error(const std::string& msg) { ::syslog(LOG_ERR, "%s", msg.c_str()); }

// "Busy" is decided here, before any request is read: its audit event
// knows no request, way or account (issue 24.2).
int max_children_for(const ListenOptions& lo, const Config& cfg) {
  return lo.max_children.value_or(static_cast<int>(cfg.broker.max_sign_ins));
}

// metrics/broker beside the socket, readable by the CGI's /metrics (issue 24.1).
void open_counters(const std::string& socket_path, int slots) {
  const std::string file = broker_metrics_file(socket_path);
  const std::string dir = file.substr(0, file.rfind('/'));
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
    ::syslog(LOG_WARNING, "metrics: %s: %s; nothing is counted", dir.c_str(), errno_text(errno).c_str());
    return;
  }
  ::chmod(dir.c_str(), 0755);   // systemd's RuntimeDirectoryMode= made it 0700
  if (auto ok = counters().open(file); !ok) {
    ::syslog(LOG_WARNING, "metrics: %s; nothing is counted", ok.error().c_str());
    return;
  }
  counters().set_gauges(0, slots);
  counters().set_started(static_cast<std::uint64_t>(::time(nullptr)));
}

void log_busy(int children, std::chrono::seconds grace) {
  audit::Event ev;
  ev.time = static_cast<std::int64_t>(::time(nullptr));
  ev.outcome = audit::Outcome::busy;
  ev.cause = std::to_string(children) + " sign-ins running (broker.max_sign_ins), none ended for " +
             std::to_string(grace.count()) + " s";
  log_event(LOG_WARNING, ev.cause + ": answered busy", ev);
}

// Binds path with the mode and group asked for. The socket is created
// owner-only (umask) so it is never reachable with looser rights, even briefly.
Result<UniqueFd> make_socket(const ListenOptions& lo, gid_t group) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (lo.path.empty() || lo.path.size() >= sizeof addr.sun_path)
    return Error{"--listen " + quote_for_log(lo.path) + ": not a usable socket path (at most 107 bytes)"};
  std::memcpy(addr.sun_path, lo.path.c_str(), lo.path.size() + 1);

  struct stat st {};
  if (::lstat(lo.path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) return Error{lo.path + ": exists and is not a socket; refusing to replace it"};
    ::unlink(lo.path.c_str());  // a stale socket from an earlier run
  }

  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return Error{"socket: " + errno_text(errno)};
  mode_t old_mask = ::umask(0177);
  int rc = ::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  int bind_errno = errno;
  ::umask(old_mask);
  if (rc != 0) return Error{lo.path + ": bind: " + errno_text(bind_errno)};
  // Listening before the final mode is set: only the owner can connect until then.
  if (::listen(fd.get(), SOMAXCONN) != 0) {
    int e = errno;
    ::unlink(lo.path.c_str());
    return Error{lo.path + ": listen: " + errno_text(e)};
  }
  if (::chown(lo.path.c_str(), static_cast<uid_t>(-1), group) != 0) {
    int e = errno;
    ::unlink(lo.path.c_str());
    return Error{lo.path + ": chown to group " + std::to_string(group) + ": " + errno_text(e) +
                 (e == EPERM ? " (only root may give the socket a group it is not in; see --socket-group)" : "")};
  }
  if (::chmod(lo.path.c_str(), lo.mode) != 0) {
    int e = errno;
    ::unlink(lo.path.c_str());
    return Error{lo.path + ": chmod: " + errno_text(e)};
  }
  return fd;
}

// The conversation sockets' directory beside the listening socket: the
// broker's own, searchable by everyone (the web server must reach the
// sockets) but listable by nobody else, so only who knows an id finds its
// socket. Sockets a killed broker left behind are removed.
Result<void> prepare_conversation_dir(const std::string& dir) {
  if (auto ok = prepare_state_dir(dir, 0711); !ok) return ok;
  if (DIR* d = ::opendir(dir.c_str())) {
    while (dirent* e = ::readdir(d)) {
      std::string name = e->d_name;
      if (name.size() == 2 * broker::kConversationIdSize && e->d_type == DT_SOCK) ::unlinkat(::dirfd(d), e->d_name, 0);
    }
    ::closedir(d);
  }
  return {};
}

// Every state folder beside the socket, before the first sign-in: conv/,
// throttle/ (when broker.max_failures is on) and the packaged PAM stack's
// faillock/ (when present; its stack names it). Each must be the broker's
// own and writable by nobody else (state_dir.hpp).
Result<void> prepare_state_dirs(const std::string& socket_path, const Config& cfg) {
  if (auto dir = prepare_conversation_dir(broker::conversation_dir(socket_path)); !dir)
    return Error{"conversation sockets: " + dir.error()};
  if (cfg.broker.max_failures > 0)
    if (auto dir = prepare_state_dir(throttle_dir(socket_path), 0700); !dir)
      return Error{"failure tallies (broker.max_failures): " + dir.error()};
  auto slash = socket_path.rfind('/');
  if (slash != std::string::npos)
    if (auto dir = prepare_state_dir(socket_path.substr(0, slash) + "/faillock", 0700, false); !dir)
      return Error{"pam_faillock's tallies: " + dir.error()};
  return {};
}

// The listening socket's path (for the conversation directory and logs).
std::string bound_path(int fd) {
  sockaddr_un addr{};
  socklen_t len = sizeof addr;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0 || addr.sun_family != AF_UNIX ||
      len <= offsetof(sockaddr_un, sun_path) || addr.sun_path[0] == '\0')
    return {};
  return std::string(addr.sun_path, ::strnlen(addr.sun_path, len - offsetof(sockaddr_un, sun_path)));
}

// At the limit: say so at once instead of leaving the client in the backlog.
void answer_busy(int listen_fd) {
  UniqueFd conn(::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
  if (!conn.valid()) return;
  std::string frame = broker::encode_response({broker::Status::unavailable, broker::Detail::busy, {}});
  (void)::send(conn.get(), frame.data(), frame.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
  ::shutdown(conn.get(), SHUT_WR);
}

}  // namespace

int run_listener(const ListenOptions& lo, const ServeOptions& so) {
  // Fail at start for what would fail every connection.
  auto cfg = load_config(so.config_path);
  if (!cfg) {
    log_error("configuration: " + cfg.error());
    return 1;
  }
  gid_t group = 0;
  if (lo.group) {
    group = *lo.group;
  } else if (lo.inherited_fd < 0) {
    auto g = default_socket_group(cfg->broker.allowed_peers);
    if (!g) {
      log_error(g.error() + " (or give --socket-group)");
      return 1;
    }
    group = *g;
  }

  // Signals arrive through a descriptor, so the loop never races a handler.
  sigset_t handled, previous;
  sigemptyset(&handled);
  sigaddset(&handled, SIGTERM);
  sigaddset(&handled, SIGINT);
  sigaddset(&handled, SIGCHLD);
  if (::sigprocmask(SIG_BLOCK, &handled, &previous) != 0) {
    log_error("sigprocmask: " + errno_text(errno));
    return 1;
  }
  UniqueFd sigfd(::signalfd(-1, &handled, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!sigfd.valid()) {
    log_error("signalfd: " + errno_text(errno));
    return 1;
  }

  UniqueFd listen_fd;
  std::string path = lo.path;
  if (lo.inherited_fd >= 0) {
    listen_fd.reset(lo.inherited_fd);
    path = bound_path(listen_fd.get());
    ::syslog(LOG_INFO, "listening on %s (socket from systemd)", path.empty() ? "?" : path.c_str());
  } else {
    auto sock = make_socket(lo, group);
    if (!sock) {
      log_error(sock.error());
      return 1;
    }
    listen_fd = std::move(*sock);
    ::syslog(LOG_INFO, "listening on %s (mode %04o, group %u)", lo.path.c_str(), static_cast<unsigned>(lo.mode),
             static_cast<unsigned>(group));
  }
  // Without systemd, started as root: the broker's own user from here on
  // (it owns the socket's directory, where it makes conv/ and throttle/).
  if (lo.after_bind) {
    if (auto ok = lo.after_bind(); !ok) {
      log_error(ok.error());
      if (lo.inherited_fd < 0) ::unlink(lo.path.c_str());
      return 1;
    }
  }
  if (auto dirs = prepare_state_dirs(path, *cfg); !dirs) {
    log_error("refusing to start: " + dirs.error());
    if (lo.inherited_fd < 0) ::unlink(lo.path.c_str());
    return 1;
  }
  // Paid once here instead of in every child (warm.hpp).
  Warm warm;
  warm.start(*cfg, so.config_path);
  ServeOptions child_so = so;
  child_so.socket_path = path;
  set_log_format(cfg->log.format);
  if (cfg->metrics.enabled) open_counters(path, max_children_for(lo, *cfg));
  const int max_children = max_children_for(lo, *cfg);

  std::set<pid_t> child_pids;   // to end held conversations when we stop
  int children = 0;
  bool stopping = false;
  auto reap = [&children, &child_pids, max_children](int flags) {
    for (;;) {
      int status = 0;
      pid_t pid = ::waitpid(-1, &status, flags);
      if (pid <= 0) return;
      --children;
      counters().set_gauges(children, max_children);
      child_pids.erase(pid);
      if (WIFSIGNALED(status))
        ::syslog(LOG_WARNING, "child %d ended by signal %d", static_cast<int>(pid), WTERMSIG(status));
    }
  };

  // At the limit, new connections wait in the backlog while sign-ins end
  // (a burst of password sign-ins queues for a moment). When none has ended
  // for kBusyGrace, the children are held by people who are typing: the
  // waiting clients are told "busy" at once rather than left hanging.
  constexpr auto kBusyGrace = std::chrono::seconds(3);
  auto last_progress = std::chrono::steady_clock::now();
  while (!stopping) {
    const bool full = children >= max_children;
    pollfd fds[2] = {{sigfd.get(), POLLIN, 0}, {listen_fd.get(), POLLIN, 0}};
    int timeout_ms = -1;
    if (full) {
      auto left = std::chrono::ceil<std::chrono::milliseconds>(last_progress + kBusyGrace - std::chrono::steady_clock::now());
      timeout_ms = static_cast<int>(std::max<long long>(0, left.count()));
    }
    // Full and within the grace: only signals (a child ending) wake us.
    nfds_t n = full && timeout_ms > 0 ? 1 : 2;
    if (::poll(fds, n, full && timeout_ms == 0 ? 0 : timeout_ms) < 0) {
      if (errno == EINTR) continue;
      log_error("poll: " + errno_text(errno));
      break;
    }
    if (fds[0].revents & POLLIN) {
      signalfd_siginfo si{};
      while (::read(sigfd.get(), &si, sizeof si) == static_cast<ssize_t>(sizeof si)) {
        if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) stopping = true;
      }
      int before = children;
      reap(WNOHANG);
      if (children < before) last_progress = std::chrono::steady_clock::now();
    }
    if (stopping || n < 2 || !(fds[1].revents & POLLIN)) continue;
    if (children >= max_children) {
      answer_busy(listen_fd.get());
      log_busy(children, kBusyGrace);
      continue;
    }

    UniqueFd conn(::accept4(listen_fd.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!conn.valid()) {
      if (errno != EINTR && errno != EAGAIN && errno != ECONNABORTED) log_error("accept: " + errno_text(errno));
      continue;
    }
    pid_t pid = ::fork();
    if (pid < 0) {
      log_error("fork: " + errno_text(errno));
      continue;  // the connection closes; the client reports the broker unavailable
    }
    if (pid == 0) {
      ::sigprocmask(SIG_SETMASK, &previous, nullptr);
      sigfd.reset();
      listen_fd.reset();
      // exit, not _exit: the child is a whole broker process, so library
      // destructors (PAM modules, test wrappers) run as after socket activation.
      std::exit(serve_connection(conn.release(), child_so));
    }
    ++children;
    counters().set_gauges(children, max_children);
    child_pids.insert(pid);
  }

  listen_fd.reset();
  if (lo.inherited_fd < 0) ::unlink(lo.path.c_str());
  // Sign-ins waiting for a browser would hold us for minutes: they end now
  // (the browser gets "start again"); one running PAM ends with it.
  for (pid_t pid : child_pids) ::kill(pid, SIGTERM);
  reap(0);
  ::syslog(LOG_INFO, "stopped");
  return 0;
}

}  // namespace zsso::authd
