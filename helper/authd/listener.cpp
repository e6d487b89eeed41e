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

#include <cstdlib>
#include <cstring>

#include "peer.hpp"
#include "zsso/config.hpp"
#include "zsso/text.hpp"
#include "zsso/unique_fd.hpp"

namespace zsso::authd {

namespace {

void log_error(const std::string& msg) { ::syslog(LOG_ERR, "%s", msg.c_str()); }

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
  } else {
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

  auto sock = make_socket(lo, group);
  if (!sock) {
    log_error(sock.error());
    return 1;
  }
  UniqueFd listen_fd = std::move(*sock);
  ::syslog(LOG_INFO, "listening on %s (mode %04o, group %u)", lo.path.c_str(), static_cast<unsigned>(lo.mode),
           static_cast<unsigned>(group));

  int children = 0;
  bool stopping = false;
  auto reap = [&children](int flags) {
    for (;;) {
      int status = 0;
      pid_t pid = ::waitpid(-1, &status, flags);
      if (pid <= 0) return;
      --children;
      if (WIFSIGNALED(status))
        ::syslog(LOG_WARNING, "child %d ended by signal %d", static_cast<int>(pid), WTERMSIG(status));
    }
  };

  while (!stopping) {
    pollfd fds[2] = {{sigfd.get(), POLLIN, 0}, {listen_fd.get(), POLLIN, 0}};
    // At the limit, new connections wait in the backlog until a child ends.
    nfds_t n = children < lo.max_children ? 2 : 1;
    if (::poll(fds, n, -1) < 0) {
      if (errno == EINTR) continue;
      log_error("poll: " + errno_text(errno));
      break;
    }
    if (fds[0].revents & POLLIN) {
      signalfd_siginfo si{};
      while (::read(sigfd.get(), &si, sizeof si) == static_cast<ssize_t>(sizeof si)) {
        if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) stopping = true;
      }
      reap(WNOHANG);
    }
    if (stopping || n < 2 || !(fds[1].revents & POLLIN)) continue;

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
      std::exit(serve_connection(conn.release(), so));
    }
    ++children;
  }

  listen_fd.reset();
  ::unlink(lo.path.c_str());
  // Children end on their own: each has its deadline.
  reap(0);
  ::syslog(LOG_INFO, "stopped");
  return 0;
}

}  // namespace zsso::authd
