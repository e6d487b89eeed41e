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

// Longer than the broker's PAM deadline (20 s by default), so its answer,
// even a slow PAM failure, arrives before the client gives up.
constexpr auto kConnectTimeout = std::chrono::seconds(5);
constexpr auto kTotalTimeout = std::chrono::seconds(25);

LoginStatus from_wire(const wire::Response& r) {
  switch (r.status) {
    case wire::Status::ok: return LoginStatus::ok;
    case wire::Status::bad_login: return LoginStatus::bad_login;
    case wire::Status::not_allowed:
      return r.detail == wire::Detail::password_expired ? LoginStatus::password_expired : LoginStatus::not_allowed;
    case wire::Status::unavailable:
      if (r.detail == wire::Detail::busy) return LoginStatus::busy;
      if (r.detail == wire::Detail::limited) return LoginStatus::limited;
      if (r.detail == wire::Detail::conversation) return LoginStatus::gone;
      return LoginStatus::unavailable;
    case wire::Status::error:
      return r.detail == wire::Detail::conversation ? LoginStatus::gone : LoginStatus::error;
    case wire::Status::prompt: return LoginStatus::prompt;
  }
  return LoginStatus::error;
}

LoginOutcome down(const std::string& path, const std::string& why, LoginStatus status = LoginStatus::unavailable) {
  LoginOutcome o;
  o.status = status;
  o.detail = "broker " + path + ": " + why;
  return o;
}

// One request, one answer, on a new connection to path. gone_if_absent: a
// conversation socket that is not there (any more) is a finished or
// abandoned conversation, not a broker that is down.
LoginOutcome exchange(const std::string& path, SecureBytes& frame, bool gone_if_absent) {
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
  if (rc != 0) {
    int e = errno;
    if (gone_if_absent && (e == ENOENT || e == ECONNREFUSED))
      return down(path, "connect: " + errno_text(e) + " (the conversation has ended)", LoginStatus::gone);
    return down(path, "connect: " + errno_text(e));
  }

  auto deadline = wire::Clock::now() + kTotalTimeout;
  int err = 0;
  switch (wire::write_all(fd.get(), frame, deadline, &err)) {
    case wire::Io::ok: break;
    case wire::Io::timeout: return down(path, "timed out sending the request");
    // The broker may have answered and closed already (a refused peer, busy): read what it said.
    case wire::Io::closed: break;
    case wire::Io::failed: return down(path, "send: " + errno_text(err));
  }
  frame.clear();
  frame.shrink_to_fit();

  wire::FrameRead answer = wire::read_frame(fd.get(), deadline, wire::kMaxResponseSize);
  switch (answer.io) {
    case wire::Io::ok: break;
    case wire::Io::closed:
      return down(path, "closed the connection without an answer", gone_if_absent ? LoginStatus::gone : LoginStatus::unavailable);
    case wire::Io::timeout: return down(path, "no answer within " + std::to_string(kTotalTimeout.count()) + " s");
    case wire::Io::failed: return down(path, "recv: " + errno_text(answer.err));
  }
  if (!answer.error.message.empty()) return down(path, answer.error.message, LoginStatus::error);
  auto resp = wire::decode_response_body(answer.body);
  if (!resp.ok()) return down(path, "bad answer: " + resp.error.message, LoginStatus::error);

  LoginOutcome out;
  out.answered_by_broker = true;
  out.status = from_wire(resp.value);
  out.token = std::move(resp.value.token);
  out.messages = std::move(resp.value.messages);
  out.conversation = resp.value.conversation;
  out.step = resp.value.step;
  out.key = std::move(resp.value.key);   // a key step (issue 23): the page asks the browser
  out.registration = std::move(resp.value.registration);
  out.keys = std::move(resp.value.keys);
  // An enrolment's ok: no token, the keys listed.
  out.key_added = out.status == LoginStatus::ok && out.token.empty() && resp.value.keys_listed;
  out.session = std::move(resp.value.session);
  out.user = std::move(resp.value.user);
  out.detail = "broker: " + std::string(wire::status_name(resp.value.status));
  if (resp.value.detail != wire::Detail::none) out.detail += " (" + std::string(wire::detail_name(resp.value.detail)) + ")";
  // The broker's own words for it, so this log line names the cause too.
  if (!resp.value.cause.empty()) out.detail += ": " + quote_for_log(resp.value.cause, wire::kMaxCause);
  return out;
}

// ok without a token answers a ping, or ends an enrolment (the keys
// listed), never a sign-in; an enrolment's ok has no token.
LoginOutcome tokenless_ok_checked(const Config& cfg, LoginOutcome out, bool enrolment) {
  if (out.status != LoginStatus::ok) return out;
  if (out.token.empty() && !out.key_added)
    return {LoginStatus::error, {}, "broker " + cfg.broker.socket + ": bad answer: ok without a token"};
  if (enrolment != out.key_added)
    return {LoginStatus::error, {}, "broker " + cfg.broker.socket + ": bad answer: " +
                                        (enrolment ? "a token for an enrolment" : "an enrolment's answer to a sign-in")};
  return out;
}

}  // namespace

LoginOutcome broker_login(const Config& cfg, const LoginRequest& req) {
  wire::Request wreq;
  wreq.user = req.user;
  wreq.password = req.password;
  wreq.client_address = req.client_address;
  wreq.profile = req.profile;
  wreq.request_id = req.request_id;
  wreq.remote_user = req.password_checked_by_web_server;
  wreq.binding = req.binding;
  wreq.enrol = req.account_check_only;
  wreq.passkey = req.passkey;
  auto frame = wire::encode_request(wreq);
  // Field limits: a user name or password nobody could have is a failed login, not a fault.
  if (!frame) return {LoginStatus::bad_login, {}, "not sent to the broker: " + frame.error()};
  return tokenless_ok_checked(cfg, exchange(cfg.broker.socket, *frame, false), req.account_check_only);
}

Result<void> broker_ping(const Config& cfg) {
  wire::Request wreq;
  wreq.user = "-";
  wreq.ping = true;
  auto frame = wire::encode_request(wreq);
  if (!frame) return Error{"ping: " + frame.error()};
  LoginOutcome out = exchange(cfg.broker.socket, *frame, false);
  if (out.status == LoginStatus::ok && out.token.empty()) return {};
  // Told "busy" (a listener with more requests waiting than it holds, or an
  // older broker at broker.max_sign_ins): up, only full; a sign-in now gets the busy page.
  if (out.status == LoginStatus::busy) return {};
  if (out.detail.rfind("broker ", 0) == 0) return Error{out.detail};
  return Error{"broker " + cfg.broker.socket + " answered the ping: " + out.detail};
}

LoginOutcome broker_session_login(const Config& cfg, const SessionSignIn& req) {
  wire::Request wreq;
  wreq.from_session = true;
  wreq.session = req.cookie;
  wreq.client_address = req.client_address;
  wreq.profile = req.profile;
  wreq.request_id = req.request_id;
  auto frame = wire::encode_request(wreq);
  if (!frame) return {LoginStatus::bad_login, {}, "session cookie not sent to the broker: " + frame.error()};
  return exchange(cfg.broker.socket, *frame, false);
}

LoginOutcome broker_continue(const Config& cfg, const ContinueRequest& req) {
  const std::string path = wire::conversation_socket_path(cfg.broker.socket, req.conversation);
  if (path.empty()) return down(cfg.broker.socket, "no directory for conversation sockets");
  wire::Request wreq;
  wreq.continues = true;
  wreq.conversation = req.conversation;
  wreq.binding = req.binding;
  wreq.step = req.step;
  wreq.answers = req.answers;
  wreq.key = req.key;
  wreq.registration = req.registration;
  wreq.key_removal = req.key_removal;
  wreq.client_address = req.client_address;
  wreq.request_id = req.request_id;
  auto frame = wire::encode_request(wreq);
  if (!frame) return {LoginStatus::gone, {}, "not sent to the broker: " + frame.error()};
  LoginOutcome out = exchange(path, *frame, true);
  // An ok without a token must be an enrolment's: the caller checks key_added.
  if (out.status == LoginStatus::ok && out.token.empty() && !out.key_added)
    return {LoginStatus::error, {}, "broker " + path + ": bad answer: ok without a token"};
  return out;
}

}  // namespace zsso
