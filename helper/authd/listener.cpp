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
#include <deque>
#include <map>
#include <span>
#include <vector>

#include "audit_log.hpp"
#include "peer.hpp"
#include "shares.hpp"
#include "state_dir.hpp"
#include "throttle.hpp"
#include "throttle_gauges.hpp"
#include "warm.hpp"
#include "zsso/account.hpp"
#include "zsso/broker_protocol.hpp"
#include "zsso/config.hpp"
#include "zsso/secret.hpp"
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
  counters().set_gauges(0, slots, 0);
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

// The listener reads each request itself, to know its client address and
// kind before it gives it a slot (issue 22.1). A request is whole when its
// frame is; the child is handed its bytes.
struct Incoming {
  UniqueFd conn;
  Peer peer;
  broker::Clock::time_point arrived;
  SecureBytes buf;            // the frame so far (header, then body)
  std::size_t want = broker::kHeaderSize;
  bool have_header = false;
  ChildShare share;           // once whole
};

// Sends a frame on a connection the listener answers itself, then drops
// what the client sent unread, so it sees an end of stream, not a reset.
void answer_on(int fd, const broker::Response& resp) {
  std::string frame = broker::encode_response(resp);
  (void)broker::write_all(fd, {reinterpret_cast<const unsigned char*>(frame.data()), frame.size()},
                          broker::Clock::now() + std::chrono::seconds(1));
  broker::end_answer(fd);
}

void refuse_on(const Incoming& in, broker::Status status, broker::Detail detail, const std::string& why,
               int prio = LOG_WARNING) {
  ::syslog(prio, "%s (%s)", why.c_str(), in.peer.describe().c_str());
  answer_on(in.conn.get(), {status, detail, {}});
}

enum class Progress { more, whole, done };

// Reads what has arrived of in's frame. done: answered or dropped here (a
// bad or cut frame); whole: in.buf holds the body.
Progress read_more(Incoming& in) {
  for (;;) {
    const std::size_t got = in.buf.size();
    in.buf.resize(in.want);
    ssize_t n = ::recv(in.conn.get(), in.buf.data() + got, in.want - got, MSG_DONTWAIT);
    in.buf.resize(got + static_cast<std::size_t>(std::max<ssize_t>(n, 0)));
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return Progress::more;
      ::syslog(LOG_WARNING, "reading the request: %s (%s)", errno_text(errno).c_str(), in.peer.describe().c_str());
      return Progress::done;
    }
    if (n == 0) {
      if (in.buf.empty() && !in.have_header) {
        ::syslog(LOG_INFO, "connection closed before a request (%s)", in.peer.describe().c_str());
        return Progress::done;
      }
      refuse_on(in, broker::Status::error, broker::Detail::malformed,
                std::string("protocol error: ") + (in.have_header ? "truncated frame: body cut short" : "truncated frame header"));
      return Progress::done;
    }
    if (in.buf.size() < in.want) continue;
    if (in.have_header) return Progress::whole;
    auto hdr = broker::decode_header(std::span<const unsigned char, broker::kHeaderSize>(in.buf.data(), broker::kHeaderSize),
                                     broker::kMaxRequestSize);
    if (!hdr.ok()) {
      refuse_on(in, broker::Status::error, hdr.error.detail, "protocol error: " + hdr.error.message);
      return Progress::done;
    }
    in.have_header = true;
    in.want = hdr.value;
    in.buf.clear();
    if (in.want == 0) return Progress::whole;
  }
}

// The child's end of the control channel: "H" + account asks to hold a
// conversation ("H" alone: a passkey's, no account yet); the listener
// answers "Y", or "N" + why not.
void answer_hold(int fd, pid_t pid, Shares& shares) {
  char msg[512];
  ssize_t n = ::recv(fd, msg, sizeof msg, MSG_DONTWAIT);
  if (n < 1 || msg[0] != 'H') return;
  auto why = shares.hold(pid, std::string(msg + 1, static_cast<std::size_t>(n - 1)));
  std::string reply = why ? "N" + *why : std::string("Y");
  (void)::send(fd, reply.data(), reply.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
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
  Shares shares(cfg->broker, max_children);
  // The listener owns the gauges: a child killed mid-sign-in cannot lower them.
  auto publish = [&] { counters().set_gauges(shares.running(), max_children, shares.holding()); };
  ThrottleGaugeKeeper throttle_gauges(cfg->broker.max_failures > 0 ? throttle_dir(path) : std::string(),
                                      Throttle(throttle_dir(path), cfg->broker).capacity());

  std::map<pid_t, UniqueFd> controls;   // each child's control channel (shares.hpp); its keys: the children
  std::vector<Incoming> reading;        // requests still arriving
  std::deque<Incoming> waiting;         // whole requests waiting for a free slot
  std::vector<Incoming> whole;          // arrived in this turn of the loop, being admitted
  bool stopping = false;
  auto reap = [&](int flags) {
    for (;;) {
      int status = 0;
      pid_t pid = ::waitpid(-1, &status, flags);
      if (pid <= 0) return;
      shares.ended(pid);
      controls.erase(pid);
      publish();
      throttle_gauges.changed();
      if (WIFSIGNALED(status))
        ::syslog(LOG_WARNING, "child %d ended by signal %d", static_cast<int>(pid), WTERMSIG(status));
    }
  };

  auto spawn = [&](Incoming in) {
    int pair[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0) {
      log_error("socketpair: " + errno_text(errno));
      return;  // the connection closes; the client reports the broker unavailable
    }
    UniqueFd mine(pair[0]), theirs(pair[1]);
    pid_t pid = ::fork();
    if (pid < 0) {
      log_error("fork: " + errno_text(errno));
      return;
    }
    if (pid == 0) {
      ::sigprocmask(SIG_SETMASK, &previous, nullptr);
      sigfd.reset();
      listen_fd.reset();
      mine.reset();
      controls.clear();
      // Other people's requests (passwords) are wiped, their connections closed here.
      reading.clear();
      waiting.clear();
      whole.clear();
      child_so.control_fd = theirs.release();
      // exit, not _exit: the child is a whole broker process, so library
      // destructors (PAM modules, test wrappers) run as after socket activation.
      end_child(serve_connection(in.conn.release(), child_so, &in.buf));
    }
    shares.started(pid, std::move(in.share));
    controls.emplace(pid, std::move(mine));
    publish();
  };

  // A whole request: a ping is answered here (never a slot); a sign-in
  // over its address's share is refused at once; the rest start or wait.
  auto admit = [&](Incoming in) {
    auto req = broker::decode_request_body(in.buf);
    if (!req.ok()) {
      in.buf.clear();
      refuse_on(in, broker::Status::error, req.error.detail, "protocol error: " + req.error.message);
      return;
    }
    if (req.value.ping) {
      // The peer is allowed, the config loads and so does the secret every
      // token needs (issue 25.7): that is all a ping asks.
      auto now_cfg = load_config(so.config_path);
      std::string why = !now_cfg ? "configuration: " + now_cfg.error() : std::string();
      if (now_cfg)
        if (auto secret = load_secret_file(now_cfg->zendesk.secret_file); !secret)
          why = "zendesk.secret_file: " + secret.error();
      if (!why.empty()) {
        ::syslog(LOG_ERR, "ping: %s (%s)", why.c_str(), in.peer.describe().c_str());
        broker::Response down(broker::Status::unavailable, broker::Detail::config);
        down.cause = why;
        answer_on(in.conn.get(), down);
        return;
      }
      ::syslog(LOG_DEBUG, "ping: ok (%s)", in.peer.describe().c_str());   // who asked: check's test reads it
      answer_on(in.conn.get(), {broker::Status::ok, broker::Detail::none, {}});
      return;
    }
    in.share.session = req.value.from_session;
    in.share.address = shares.address_key(req.value.client_address);
    if (!req.value.continues)
      if (auto why = shares.refuse_start(in.share)) {
        in.buf.clear();
        refuse_on(in, broker::Status::unavailable, broker::Detail::limited,
                  "request " + quote_for_log(req.value.request_id, 64) + ": " +
                      (req.value.from_session ? std::string("session sign-in") : "user " + user_for_log(req.value.user)) +
                      ": refused at once: " + *why);
        return;
      }
    if (shares.full() || !waiting.empty()) {
      waiting.push_back(std::move(in));
      return;
    }
    spawn(std::move(in));
  };

  // At the limit, whole requests wait while sign-ins end (a burst of
  // password sign-ins queues for a moment). When none has ended for
  // broker.busy_after_seconds, the children are held by people who are
  // typing: the waiting clients are told "busy" at once rather than left hanging.
  const auto busy_after = std::chrono::seconds(cfg->broker.busy_after_seconds);
  // Requests held open by the listener (as the backlog held them before),
  // well within the descriptors a service gets (1024).
  constexpr std::size_t kMaxQueued = 512;
  auto last_progress = broker::Clock::now();
  while (!stopping) {
    // Slots freed: the waiting start, each still within its address's share.
    while (!waiting.empty() && !shares.full()) {
      Incoming in = std::move(waiting.front());
      waiting.pop_front();
      if (auto why = shares.refuse_start(in.share)) {
        in.buf.clear();
        refuse_on(in, broker::Status::unavailable, broker::Detail::limited, "refused at once: " + *why);
        continue;
      }
      spawn(std::move(in));
    }
    auto now = broker::Clock::now();
    if (!waiting.empty() && now >= last_progress + busy_after) {
      log_busy(shares.running(), busy_after);
      for (auto& in : waiting) answer_on(in.conn.get(), {broker::Status::unavailable, broker::Detail::busy, {}});
      waiting.clear();
    }
    // Requests that did not arrive in time.
    for (auto it = reading.begin(); it != reading.end();) {
      if (now < it->arrived + so.io_timeout) {
        ++it;
        continue;
      }
      refuse_on(*it, broker::Status::error, broker::Detail::timeout,
                "protocol error: no complete request within " + std::to_string(so.io_timeout.count()) + " s");
      it = reading.erase(it);
    }

    std::vector<pollfd> fds;
    fds.push_back({sigfd.get(), POLLIN, 0});
    fds.push_back({listen_fd.get(), POLLIN, 0});
    for (const auto& in : reading) fds.push_back({in.conn.get(), POLLIN, 0});
    std::vector<pid_t> control_pids;
    for (const auto& [pid, fd] : controls) {
      fds.push_back({fd.get(), POLLIN, 0});
      control_pids.push_back(pid);
    }
    auto until = broker::Clock::time_point::max();
    if (!waiting.empty()) until = last_progress + busy_after;
    for (const auto& in : reading) until = std::min(until, in.arrived + so.io_timeout);
    until = std::min(until, throttle_gauges.due());
    int timeout_ms = -1;
    if (until != broker::Clock::time_point::max())
      timeout_ms = static_cast<int>(std::clamp<long long>(
          std::chrono::ceil<std::chrono::milliseconds>(until - broker::Clock::now()).count(), 0, 60000));
    if (::poll(fds.data(), fds.size(), timeout_ms) < 0) {
      if (errno == EINTR) continue;
      log_error("poll: " + errno_text(errno));
      break;
    }
    if (fds[0].revents & POLLIN) {
      signalfd_siginfo si{};
      while (::read(sigfd.get(), &si, sizeof si) == static_cast<ssize_t>(sizeof si)) {
        if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) stopping = true;
      }
      int before = shares.running();
      reap(WNOHANG);
      if (shares.running() < before) last_progress = broker::Clock::now();
    }
    if (stopping) continue;
    // Control channels first: a child waiting for its answer holds a browser's page.
    for (std::size_t i = 0; i < control_pids.size(); ++i) {
      const pollfd& p = fds[2 + reading.size() + i];
      auto c = controls.find(control_pids[i]);
      if ((p.revents & POLLIN) && c != controls.end()) {
        answer_hold(c->second.get(), control_pids[i], shares);
        publish();
      }
    }
    throttle_gauges.update(broker::Clock::now());
    // Requests arriving: whole ones are admitted (after this loop: admit may
    // answer or fork, which must not see reading half-moved).
    whole.clear();
    {
      std::vector<Incoming> still;
      for (std::size_t i = 0; i < reading.size(); ++i) {
        if (!(fds[2 + i].revents & (POLLIN | POLLHUP | POLLERR))) {
          still.push_back(std::move(reading[i]));
          continue;
        }
        switch (read_more(reading[i])) {
          case Progress::more: still.push_back(std::move(reading[i])); break;
          case Progress::whole: whole.push_back(std::move(reading[i])); break;
          case Progress::done: break;
        }
      }
      reading = std::move(still);
    }
    for (auto& in : whole) admit(std::move(in));
    if (!(fds[1].revents & POLLIN)) continue;

    Incoming in;
    in.conn.reset(::accept4(listen_fd.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
    if (!in.conn.valid()) {
      if (errno != EINTR && errno != EAGAIN && errno != ECONNABORTED) log_error("accept: " + errno_text(errno));
      continue;
    }
    in.arrived = broker::Clock::now();
    auto peer = peer_of(in.conn.get());
    if (!peer) {
      log_error(peer.error());
      continue;
    }
    in.peer = *peer;
    // The broker's own configuration decides who may ask, as it stands now.
    auto now_cfg = load_config(so.config_path);
    if (!now_cfg) {
      refuse_on(in, broker::Status::unavailable, broker::Detail::config, "configuration: " + now_cfg.error(), LOG_ERR);
      continue;
    }
    if (!peer_allowed(now_cfg->broker.allowed_peers, in.peer)) {
      refuse_on(in, broker::Status::unavailable, broker::Detail::peer_refused,
                "refused: peer is not in broker.allowed_peers");
      continue;
    }
    if (reading.size() + waiting.size() >= kMaxQueued) {
      refuse_on(in, broker::Status::unavailable, broker::Detail::busy,
                std::to_string(kMaxQueued) + " requests arriving or waiting for a slot: answered busy");
      continue;
    }
    reading.push_back(std::move(in));
  }

  listen_fd.reset();
  if (lo.inherited_fd < 0) ::unlink(lo.path.c_str());
  // Sign-ins waiting for a browser would hold us for minutes: they end now
  // (the browser gets "start again"); one running PAM ends with it.
  for (const auto& [pid, fd] : controls) ::kill(pid, SIGTERM);
  reap(0);
  ::syslog(LOG_INFO, "stopped");
  return 0;
}

}  // namespace zsso::authd
