// SPDX-License-Identifier: BSD-3-Clause
// Broker mode: the PAM transaction runs in zendesk-sso-authd, reached over
// the Unix socket at broker.socket (see core/include/zsso/broker_protocol.hpp).
#include <sys/socket.h>
#include <sys/un.h>

#include <cerrno>
#include <cstring>

#include "login.hpp"
#include "zsso/broker_protocol.hpp"
#include "zsso/text.hpp"
#include "zsso/unique_fd.hpp"

namespace zsso {

namespace {

namespace wire = zsso::broker;

// Longer than the broker's own deadline (20 s by default), so its answer,
// even a slow PAM failure, arrives before the client gives up.
constexpr auto kConnectTimeout = std::chrono::seconds(5);
constexpr auto kTotalTimeout = std::chrono::seconds(25);

LoginStatus from_wire(wire::Status s) {
  switch (s) {
    case wire::Status::ok: return LoginStatus::ok;
    case wire::Status::bad_login: return LoginStatus::bad_login;
    case wire::Status::not_allowed: return LoginStatus::not_allowed;
    case wire::Status::unavailable: return LoginStatus::unavailable;
    case wire::Status::error: return LoginStatus::error;
  }
  return LoginStatus::error;
}

LoginOutcome down(const std::string& path, const std::string& why) {
  return {LoginStatus::unavailable, {}, "broker " + path + ": " + why};
}

}  // namespace

LoginOutcome broker_login(const Config& cfg, const LoginRequest& req) {
  const std::string& path = cfg.broker.socket;
  wire::Request wreq;
  wreq.user = req.user;
  wreq.password = req.password;
  wreq.client_address = req.client_address;
  wreq.profile = req.profile;
  wreq.request_id = req.request_id;
  wreq.remote_user = req.password_checked_by_web_server;
  auto frame = wire::encode_request(wreq);
  // Field limits: a user name or password nobody could have is a failed login, not a fault.
  if (!frame) return {LoginStatus::bad_login, {}, "not sent to the broker: " + frame.error()};

  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) return down(path, "socket path too long");
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);

  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return down(path, "socket: " + errno_text(errno));
  // connect() on a Unix socket waits for room in the backlog up to SO_SNDTIMEO.
  timeval tv{static_cast<time_t>(kConnectTimeout.count()), 0};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  int rc;
  do rc = ::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  while (rc != 0 && errno == EINTR);
  if (rc != 0) return down(path, "connect: " + errno_text(errno));

  auto deadline = wire::Clock::now() + kTotalTimeout;
  int err = 0;
  switch (wire::write_all(fd.get(), *frame, deadline, &err)) {
    case wire::Io::ok: break;
    case wire::Io::timeout: return down(path, "timed out sending the request");
    // The broker may have answered and closed already (a refused peer): read what it said.
    case wire::Io::closed: break;
    case wire::Io::failed: return down(path, "send: " + errno_text(err));
  }
  frame->clear();
  frame->shrink_to_fit();

  wire::FrameRead answer = wire::read_frame(fd.get(), deadline, wire::kMaxResponseSize);
  switch (answer.io) {
    case wire::Io::ok: break;
    case wire::Io::closed: return down(path, "closed the connection without an answer");
    case wire::Io::timeout: return down(path, "no answer within " + std::to_string(kTotalTimeout.count()) + " s");
    case wire::Io::failed: return down(path, "recv: " + errno_text(answer.err));
  }
  if (!answer.error.message.empty()) return {LoginStatus::error, {}, "broker " + path + ": " + answer.error.message};
  auto resp = wire::decode_response_body(answer.body);
  if (!resp.ok()) return {LoginStatus::error, {}, "broker " + path + ": bad answer: " + resp.error.message};

  LoginOutcome out;
  out.status = from_wire(resp.value.status);
  out.token = std::move(resp.value.token);
  out.detail = "broker: " + std::string(wire::status_name(resp.value.status));
  if (resp.value.detail != wire::Detail::none) out.detail += " (" + std::string(wire::detail_name(resp.value.detail)) + ")";
  return out;
}

}  // namespace zsso
