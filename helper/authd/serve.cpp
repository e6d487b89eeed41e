#include "serve.hpp"

#include <sys/socket.h>
#include <syslog.h>
#include <unistd.h>

#include <algorithm>
#include <optional>

#include "login.hpp"
#include "peer.hpp"
#include "zsso/account.hpp"
#include "zsso/broker_protocol.hpp"
#include "zsso/cidr.hpp"
#include "zsso/config.hpp"
#include "zsso/text.hpp"
#include "zsso/unique_fd.hpp"

namespace zsso::authd {

namespace {

namespace wire = zsso::broker;

wire::Status to_wire(LoginStatus s) {
  switch (s) {
    case LoginStatus::ok: return wire::Status::ok;
    case LoginStatus::bad_login: return wire::Status::bad_login;
    case LoginStatus::not_allowed: return wire::Status::not_allowed;
    case LoginStatus::unavailable: return wire::Status::unavailable;
    case LoginStatus::error: return wire::Status::error;
  }
  return wire::Status::error;
}

class Connection {
 public:
  Connection(int fd, const ServeOptions& opt)
      : fd_(fd), opt_(opt), start_(wire::Clock::now()) {}

  int run();

 private:
  // Sends the answer and ends the connection. Request bytes still unread
  // (a peer refused before its request was read) are dropped first, so the
  // client sees a plain end of stream after the answer rather than a reset.
  int answer(const wire::Response& resp) {
    std::string frame = wire::encode_response(resp);
    int err = 0;
    auto io = wire::write_all(fd_.get(), {reinterpret_cast<const unsigned char*>(frame.data()), frame.size()},
                              wire::Clock::now() + opt_.io_timeout, &err);
    if (io != wire::Io::ok) {
      log(LOG_WARNING, "could not send the answer: " + std::string(io == wire::Io::timeout ? "timed out" : errno_text(err)));
      return 1;
    }
    ::shutdown(fd_.get(), SHUT_WR);
    unsigned char scratch[4096];
    for (std::size_t dropped = 0; dropped < wire::kMaxRequestSize;) {
      ssize_t n = ::recv(fd_.get(), scratch, sizeof scratch, MSG_DONTWAIT);
      if (n <= 0) break;
      dropped += static_cast<std::size_t>(n);
    }
    return 0;
  }

  int refuse(wire::Status status, wire::Detail detail, const std::string& why) {
    log(LOG_WARNING, why);
    return answer({status, detail, {}});
  }

  void log(int prio, const std::string& msg) const {
    std::string who = peer_ ? peer_->describe() : std::string("unknown peer");
    std::string rid = request_id_.empty() ? std::string() : "request " + quote_for_log(request_id_, 64) + ": ";
    ::syslog(prio, "%s%s (%s)", rid.c_str(), msg.c_str(), who.c_str());
  }

  UniqueFd fd_;
  const ServeOptions& opt_;
  wire::Clock::time_point start_;
  std::optional<Peer> peer_;
  std::string request_id_;
};

int Connection::run() {
  auto peer = peer_of(fd_.get());
  if (!peer) {
    log(LOG_ERR, peer.error());
    return 1;
  }
  peer_ = *peer;

  // The broker's own configuration decides everything; the request only names a profile.
  auto base = load_config(opt_.config_path);
  if (!base) return refuse(wire::Status::unavailable, wire::Detail::config, "configuration: " + base.error());
  if (!peer_allowed(base->broker.allowed_peers, *peer_))
    return refuse(wire::Status::unavailable, wire::Detail::peer_refused,
                  "refused: peer is not in broker.allowed_peers");

  wire::FrameRead frame = wire::read_frame(fd_.get(), start_ + opt_.io_timeout, wire::kMaxRequestSize);
  switch (frame.io) {
    case wire::Io::ok: break;
    case wire::Io::closed: log(LOG_INFO, "connection closed before a request"); return 1;
    case wire::Io::timeout:
      return refuse(wire::Status::error, wire::Detail::timeout,
                    "protocol error: no complete request within " + std::to_string(opt_.io_timeout.count()) + " s");
    case wire::Io::failed: log(LOG_WARNING, "reading the request: " + errno_text(frame.err)); return 1;
  }
  if (!frame.error.message.empty())
    return refuse(wire::Status::error, frame.error.detail, "protocol error: " + frame.error.message);

  auto decoded = wire::decode_request_body(frame.body);
  frame.body.clear();
  frame.body.shrink_to_fit();  // the password's first copy, wiped by the allocator
  if (!decoded.ok())
    return refuse(wire::Status::error, decoded.error.detail, "protocol error: " + decoded.error.message);
  wire::Request& req = decoded.value;
  request_id_ = req.request_id;

  if (!req.client_address.empty() && !parse_ip(req.client_address))
    return refuse(wire::Status::error, wire::Detail::malformed,
                  "protocol error: client address " + quote_for_log(req.client_address) + " is not an IP address");

  Config cfg = std::move(*base);
  if (!req.profile.empty()) {
    if (std::find(cfg.profile_names.begin(), cfg.profile_names.end(), req.profile) == cfg.profile_names.end())
      return refuse(wire::Status::error, wire::Detail::unknown_profile,
                    "profile " + quote_for_log(req.profile) + " is not defined in " + opt_.config_path);
    auto with_profile = load_config(opt_.config_path, req.profile);
    if (!with_profile)
      return refuse(wire::Status::unavailable, wire::Detail::config, "configuration: " + with_profile.error());
    cfg = std::move(*with_profile);
  }
  if (req.remote_user && !cfg.helper.trust_remote_user)
    return refuse(wire::Status::error, wire::Detail::remote_user_disabled,
                  "refused REMOTE_USER sign-in for " + quote_for_log(req.user) +
                      ": helper.trust_remote_user is off in the broker's configuration");

  LoginRequest login;
  login.user = req.user;
  login.password = std::move(req.password);
  login.password_checked_by_web_server = req.remote_user;
  login.client_address = req.client_address;
  login.profile = req.profile;
  login.request_id = req.request_id;
  LoginOutcome out = pam_login(cfg, login);
  login.password.clear();
  login.password.shrink_to_fit();

  wire::Response resp{to_wire(out.status), out.status == LoginStatus::ok ? wire::Detail::none : wire::Detail::pam,
                      std::move(out.token)};
  log(out.status == LoginStatus::ok ? LOG_INFO : LOG_NOTICE,
      "user " + user_for_log(req.user) + " from " + (req.client_address.empty() ? "-" : req.client_address) +
          (req.profile.empty() ? "" : " profile " + req.profile) + ": " +
          std::string(wire::status_name(resp.status)) + " (" + out.detail + ")");
  return answer(resp);
}

}  // namespace

int serve_connection(int fd, const ServeOptions& opt) {
  // A stuck PAM module must not keep the process forever; SIGALRM's default action ends it.
  ::alarm(static_cast<unsigned>(std::max<long long>(1, opt.deadline.count())));
  Connection conn(fd, opt);
  int rc = conn.run();
  ::alarm(0);
  return rc;
}

}  // namespace zsso::authd
