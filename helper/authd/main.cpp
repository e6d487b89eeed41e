// SPDX-License-Identifier: BSD-3-Clause
// zendesk-sso-authd: runs the PAM transaction for the CGI when the web
// server user may not (local /etc/shadow accounts), so nothing needs setuid.
//
//   zendesk-sso-authd [--config FILE]            the listening socket systemd passes
//                                                (Accept=no): a warm daemon forking a
//                                                child per sign-in; or one connection on
//                                                fd 3 (Accept=yes) or stdin (inetd style)
//   zendesk-sso-authd [--config FILE] --listen PATH [--socket-mode 0660]
//                     [--socket-group GROUP] [--user USER [--groups G,...]]
//                                                own socket, a child per sign-in; without
//                                                systemd: makes the socket's directory, drops to
//                                                USER after binding, no new privileges
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "listener.hpp"
#include "peer.hpp"
#include "privileges.hpp"
#include "serve.hpp"
#include "zsso/config.hpp"
#include "zsso/text.hpp"

namespace {

using namespace zsso;
using namespace zsso::authd;

constexpr const char* kUsage =
    "usage: zendesk-sso-authd [--config FILE] [--listen PATH [--socket-mode MODE] [--socket-group GROUP]\n"
    "                         [--user USER [--groups GROUP,...]] [--max-children N]]\n"
    "                         [--io-timeout SEC] [--deadline SEC] [--log-stderr]\n"
    "Without --listen, serves the socket systemd passes: a listening one (Accept=no, a child per\n"
    "sign-in), or one connection (Accept=yes) or stdin.\n";

int usage_error(const std::string& msg) {
  std::fprintf(stderr, "zendesk-sso-authd: %s\n%s", msg.c_str(), kUsage);
  return 2;
}

template <class T>
bool parse_number(std::string_view text, T& out, int base = 10) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out, base);
  return ec == std::errc{} && end == text.data() + text.size() && !text.empty();
}

// A Unix stream socket, connected or (listening) not, or a message saying
// what fd is instead.
Result<bool> check_socket(int fd) {
  int domain = 0, type = 0, listening = 0;
  socklen_t len = sizeof domain;
  if (::getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) != 0)
    return Error{"descriptor " + std::to_string(fd) + " is not a socket"};
  len = sizeof type;
  ::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len);
  len = sizeof listening;
  ::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len);
  if (domain != AF_UNIX || type != SOCK_STREAM)
    return Error{"descriptor " + std::to_string(fd) + " is not a Unix stream socket"};
  return listening != 0;
}

struct Passed {
  int fd = -1;
  bool listening = false;
};

// The connection systemd passed (LISTEN_FDS, fd 3), else stdin. The socket
// ends up on a close-on-exec descriptor, and 0/1 on /dev/null, so no PAM
// helper process inherits it and no stray output reaches the client.
Result<Passed> take_connection() {
  int fd = STDIN_FILENO;
  const char* pid = std::getenv("LISTEN_PID");
  const char* fds = std::getenv("LISTEN_FDS");
  if (pid && fds) {
    long listen_pid = 0;
    int count = 0;
    if (parse_number(std::string_view(pid), listen_pid) && listen_pid == ::getpid() &&
        parse_number(std::string_view(fds), count)) {
      if (count != 1) return Error{"systemd passed " + std::to_string(count) + " sockets; expected one (Accept=yes)"};
      fd = 3;  // SD_LISTEN_FDS_START
    }
    ::unsetenv("LISTEN_PID");
    ::unsetenv("LISTEN_FDS");
    ::unsetenv("LISTEN_FDNAMES");
  }
  auto kind = check_socket(fd);
  if (!kind) return Error{kind.error() + "; run under systemd socket activation (Accept=no, or Accept=yes) or with --listen PATH"};
  if (*kind && fd == STDIN_FILENO) return Error{"stdin is a listening socket; use --listen PATH or systemd"};
  int conn = ::fcntl(fd, F_DUPFD_CLOEXEC, 3);
  if (conn < 0) return Error{"fcntl: " + errno_text(errno)};
  int devnull = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  if (devnull >= 0) {
    struct stat conn_st {}, st {};
    ::fstat(conn, &conn_st);
    for (int std_fd : {STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO}) {
      bool same_socket = ::fstat(std_fd, &st) == 0 && st.st_dev == conn_st.st_dev && st.st_ino == conn_st.st_ino;
      if (std_fd != STDERR_FILENO || same_socket) ::dup2(devnull, std_fd);
    }
    if (devnull > STDERR_FILENO) ::close(devnull);
  }
  if (fd > STDERR_FILENO) ::close(fd);
  return Passed{conn, *kind};
}

}  // namespace

int main(int argc, char** argv) {
  ServeOptions so;
  ListenOptions lo;
  std::string explicit_config, socket_group;
  RunAs run_as;
  bool listen = false, log_stderr = false, socket_options = false;

  auto seconds_option = [](std::string_view val, std::chrono::seconds& out) {
    long n = 0;
    if (!parse_number(val, n) || n < 1 || n > 3600) return false;
    out = std::chrono::seconds(n);
    return true;
  };
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    }
    if (arg == "--log-stderr") {
      log_stderr = true;
      continue;
    }
    if (i + 1 >= argc) return usage_error("unknown argument or missing value: " + quote_for_log(arg));
    std::string_view val = argv[++i];
    if (arg == "--config") {
      explicit_config = val;
    } else if (arg == "--listen") {
      listen = true;
      lo.path = val;
    } else if (arg == "--socket-mode") {
      unsigned mode = 0;
      if (!parse_number(val, mode, 8) || mode > 0777) return usage_error("--socket-mode takes an octal mode like 0660");
      lo.mode = static_cast<mode_t>(mode);
      socket_options = true;
    } else if (arg == "--socket-group") {
      socket_group = val;
      socket_options = true;
    } else if (arg == "--user") {
      run_as.user = val;
      socket_options = true;
    } else if (arg == "--groups") {
      for (std::size_t start = 0; start <= val.size();) {
        std::size_t comma = std::min(val.find(',', start), val.size());
        if (comma > start) run_as.groups.emplace_back(val.substr(start, comma - start));
        start = comma + 1;
      }
      socket_options = true;
    } else if (arg == "--max-children") {
      int n = 0;
      if (!parse_number(val, n) || n < 1) return usage_error("--max-children takes a positive number");
      lo.max_children = n;
    } else if (arg == "--io-timeout") {
      if (!seconds_option(val, so.io_timeout)) return usage_error("--io-timeout takes seconds (1 to 3600)");
    } else if (arg == "--deadline") {
      if (!seconds_option(val, so.deadline)) return usage_error("--deadline takes seconds (1 to 3600)");
    } else {
      return usage_error("unknown argument " + quote_for_log(arg));
    }
  }
  if (!listen && socket_options)
    return usage_error("--socket-mode, --socket-group, --user and --groups go with --listen "
                       "(under systemd, the unit's User= and SupplementaryGroups= do this)");
  // Without systemd nobody cleaned the descriptor table: a launcher's open
  // files must not reach PAM modules or the children.
  if (listen) close_inherited_fds();
  if (so.deadline <= so.io_timeout)
    return usage_error("--deadline must be longer than --io-timeout (the request must fit inside it)");

  ::openlog("zendesk-sso-authd", LOG_PID | (log_stderr ? LOG_PERROR : 0), LOG_AUTHPRIV);
  // A core dump of a broker child could hold a password.
  rlimit no_core{0, 0};
  ::setrlimit(RLIMIT_CORE, &no_core);
  so.config_path = config_path_from(explicit_config);

  if (listen) {
    if (!socket_group.empty()) {
      auto gid = group_id(socket_group);
      if (!gid) return usage_error("--socket-group: " + gid.error());
      lo.group = *gid;
    }
    auto fatal = [&](const std::string& msg) {
      ::syslog(LOG_ERR, "%s", msg.c_str());
      if (!log_stderr) std::fprintf(stderr, "zendesk-sso-authd: %s\n", msg.c_str());
      return 1;
    };
    if (auto ok = resolve_run_as(run_as); !ok) return usage_error(ok.error());
    if (auto ok = make_runtime_dir(lo.path, run_as); !ok) return fatal(ok.error());
    if (auto ok = forbid_new_privileges(); !ok) return fatal(ok.error());
    if (::geteuid() == 0 && run_as.user.empty())
      ::syslog(LOG_WARNING, "running PAM as root: give --user zendesk-sso --groups shadow (see zendesk-sso-authd(8))");
    if (!run_as.user.empty())
      lo.after_bind = [&run_as]() -> Result<void> {
        if (auto ok = drop_privileges(run_as); !ok) return ok;
        ::syslog(LOG_INFO, "running as %s (uid %u gid %u, %zu groups), no new privileges", run_as.user.c_str(),
                 static_cast<unsigned>(run_as.uid), static_cast<unsigned>(run_as.gid), run_as.gids.size());
        return {};
      };
    return run_listener(lo, so);
  }
  auto conn = take_connection();
  if (!conn) {
    ::syslog(LOG_ERR, "%s", conn.error().c_str());
    if (!log_stderr) std::fprintf(stderr, "zendesk-sso-authd: %s\n", conn.error().c_str());
    return 1;
  }
  if (conn->listening) {
    lo.inherited_fd = conn->fd;
    return run_listener(lo, so);
  }
  return serve_connection(conn->fd, so);
}
