// SPDX-License-Identifier: BSD-3-Clause
#include "serve.hpp"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <optional>

#include "audit_log.hpp"
#include "enrol_step.hpp"
#include "failure_deadline.hpp"
#include "key_step.hpp"
#include "login.hpp"
#include "peer.hpp"
#include "store.hpp"
#include "throttle.hpp"
#include "zsso/account.hpp"
#include "zsso/audit.hpp"
#include "zsso/broker_protocol.hpp"
#include "zsso/cidr.hpp"
#include "zsso/config.hpp"
#include "zsso/secret.hpp"
#include "zsso/session_cookie.hpp"
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
    case LoginStatus::password_expired: return wire::Status::not_allowed;
    case LoginStatus::busy: return wire::Status::unavailable;
    case LoginStatus::limited: return wire::Status::unavailable;
    case LoginStatus::gone: return wire::Status::unavailable;
    case LoginStatus::prompt: return wire::Status::error;   // never final
  }
  return wire::Status::error;
}

wire::Detail detail_for(const LoginOutcome& out) {
  if (out.key_required) return wire::Detail::key_required;
  switch (out.status) {
    case LoginStatus::ok: return wire::Detail::none;
    case LoginStatus::password_expired: return wire::Detail::password_expired;
    case LoginStatus::busy: return wire::Detail::busy;
    case LoginStatus::limited: return wire::Detail::limited;
    case LoginStatus::gone: return wire::Detail::conversation;
    default: return wire::Detail::pam;
  }
}

// The conversation's own listening socket, removed with the process.
class ConversationSocket {
 public:
  ConversationSocket() = default;
  ConversationSocket(const ConversationSocket&) = delete;
  ConversationSocket& operator=(const ConversationSocket&) = delete;
  ~ConversationSocket() {
    if (fd_.valid()) ::unlink(path_.c_str());
  }

  Result<void> open(const std::string& path) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.empty() || path.size() >= sizeof addr.sun_path)
      return Error{"conversation socket path " + quote_for_log(path) + " is unusable"};
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd.valid()) return Error{"socket: " + errno_text(errno)};
    mode_t old_mask = ::umask(0177);
    int rc = ::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    int e = errno;
    ::umask(old_mask);
    if (rc != 0) return Error{path + ": bind: " + errno_text(e)};
    path_ = path;
    fd_ = std::move(fd);
    // Anyone may connect who can reach the directory (it is searchable, not
    // listable) and knows the name; the peer check and the binding decide.
    if (::listen(fd_.get(), 8) != 0 || ::chmod(path.c_str(), 0666) != 0)
      return Error{path + ": listen/chmod: " + errno_text(errno)};
    return {};
  }
  int get() const { return fd_.get(); }
  bool valid() const { return fd_.valid(); }

 private:
  UniqueFd fd_;
  std::string path_;
};

bool same_secret(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

class Connection : public Asker {
 public:
  Connection(int fd, const ServeOptions& opt, SecureBytes* request)
      : fd_(fd), opt_(opt), start_(wire::Clock::now()), request_start_(start_), preread_(request) {}

  int run();

  // Asker: the browser answers through the CGI, one connection per step.
  bool ask(const std::vector<wire::Message>& page, std::vector<SecureBytes>& answers) override;
  // The security key step (key_step.hpp): the challenge instead of prompts.
  bool ask_key(const wire::KeyChallenge& challenge, wire::KeyAssertion& assertion);
  // The key registration step of an enrolment (enrol_step.hpp).
  // Its answer: a registration, or the short id of a listed key to remove.
  bool ask_registration(const wire::KeyRegistration& registration, const std::vector<wire::KeyListEntry>& keys,
                        wire::KeyRegistrationAnswer& answer, std::string& removal);

 private:
  // Sends the answer on conn. Request bytes still unread (a peer refused
  // before its request was read) are dropped first, so the client sees a
  // plain end of stream after the answer rather than a reset.
  bool send_on(int conn, const std::string& frame) {
    int err = 0;
    auto io = wire::write_all(conn, {reinterpret_cast<const unsigned char*>(frame.data()), frame.size()},
                              wire::Clock::now() + opt_.io_timeout, &err);
    if (io != wire::Io::ok) {
      log(LOG_WARNING, "could not send the answer: " + std::string(io == wire::Io::timeout ? "timed out" : errno_text(err)));
      return false;
    }
    wire::end_answer(conn);
    return true;
  }
  int answer(const wire::Response& resp) {
    if (!fd_.valid()) return 1;
    bool sent = send_on(fd_.get(), wire::encode_response(resp));
    fd_.reset();
    return sent ? 0 : 1;
  }

  // A refused password sign-in (every kind a bad login): answered at the
  // failure deadline from the current request's start, whatever the reason.
  int answer_refusal(const Config& cfg, const wire::Response& resp, std::string decision, audit::Outcome outcome) {
    if (!fd_.valid()) return answer(resp);
    const FailureDeadline deadline(std::chrono::milliseconds(cfg.broker.failure_delay_ms));
    // The sleep must not meet the PAM watchdog: it has its own bound.
    ::alarm(static_cast<unsigned>((deadline.delay() + deadline.jitter_range()).count() / 1000 + 2 +
                                  opt_.io_timeout.count()));
    const FailureDeadline::Answered a = deadline.wait(request_start_);
    // An overrun's answer time is the work's own: see FailureDeadline::wait.
    decided(a.overran || a.random_failed ? LOG_WARNING : LOG_NOTICE, decision + a.describe(), outcome, resp.cause);
    return answer(resp);
  }

  int refuse(wire::Status status, wire::Detail detail, const std::string& why) {
    decided(LOG_WARNING, why, outcome_of(status), why);
    return answer({status, detail, {}});
  }

  static audit::Outcome outcome_of(wire::Status status) {
    switch (status) {
      case wire::Status::bad_login: return audit::Outcome::bad_login;
      case wire::Status::not_allowed: return audit::Outcome::not_allowed;
      case wire::Status::unavailable: return audit::Outcome::unavailable;
      default: return audit::Outcome::error;
    }
  }

  // The decision's line, as its audit event (issue 24.2): this process
  // answers it, so the CGI writes none for it.
  void decided(int prio, const std::string& msg, audit::Outcome outcome, const std::string& cause) const {
    audit::Event ev;
    ev.time = static_cast<std::int64_t>(::time(nullptr));
    ev.request_id = request_id_;
    ev.way = key_asked_ ? audit::Way::key : step_ > 0 ? audit::Way::multi_step : way_;
    ev.outcome = outcome;
    ev.account = audit::account_for_event(user_);
    ev.client = client_;
    ev.profile = profile_;
    ev.cause = cause;
    const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(wire::Clock::now() - start_).count();
    log_event(prio, line(msg), ev, profile_slot_, ev.way == audit::Way::unknown ? -1 : static_cast<std::int64_t>(took));
  }

  void log(int prio, const std::string& msg) const { ::syslog(prio, "%s", line(msg).c_str()); }
  std::string line(const std::string& msg) const {
    std::string who = peer_ ? peer_->describe() : std::string("unknown peer");
    std::string rid = request_id_.empty() ? std::string() : "request " + quote_for_log(request_id_, 64) + ": ";
    std::string conv = step_ ? "conversation " + tag_ + " step " + std::to_string(step_) + ": " : std::string();
    return rid + conv + msg + " (" + who + ")";
  }

  // A session request: the cookie verified here, then the account checks.
  int session_sign_in(const Config& cfg, const wire::Request& req);
  // A passkey request (webauthn.passwordless): the key step first, then the
  // account checks of a REMOTE_USER sign-in for the account its handle names.
  int passkey_sign_in(const Config& cfg, const wire::Request& req);
  // Where the conversation lives and how long it may last (a sign-in's start).
  void prepare_conversation(const Config& cfg, const wire::Request& req) {
    socket_base_ = opt_.socket_path.empty() ? cfg.broker.socket : opt_.socket_path;
    binding_ = req.binding;
    prompt_timeout_s_ = cfg.broker.prompt_timeout;
    sign_in_deadline_s_ = cfg.broker.sign_in_deadline;
  }
  // After an ok password sign-in: the browser's new session cookie, when sessions are on.
  // security_key: the public key the sign-in's key step proved ("" none).
  void attach_new_session(const Config& cfg, const std::string& user, const std::string& profile,
                          wire::Response& resp, const std::string& security_key) const;

  // What a step asks: prompts (the page), or a key challenge, or a key
  // registration (with the account's keys); and where its answer goes.
  struct StepAsk {
    std::vector<wire::Message> page;
    const wire::KeyChallenge* key = nullptr;
    const wire::KeyRegistration* registration = nullptr;
    const std::vector<wire::KeyListEntry>* keys = nullptr;
  };
  struct StepAnswer {
    std::vector<SecureBytes>* answers = nullptr;
    wire::KeyAssertion* assertion = nullptr;
    wire::KeyRegistrationAnswer* registration = nullptr;
    std::string* removal = nullptr;   // a registration step's other answer
  };
  // Sends a step and waits for its answer.
  bool step(const StepAsk& ask, const StepAnswer& reply);
  // Waits for the browser's answer to the current step on the
  // conversation's socket; other connections there are answered and dropped.
  bool wait_for_answer(const StepAsk& ask, const StepAnswer& reply);
  // Re-arms the watchdog for PAM's own work: opt_.deadline, within the whole sign-in's deadline.
  void arm_pam_watchdog() const;
  wire::Clock::time_point sign_in_deadline() const { return start_ + std::chrono::seconds(sign_in_deadline_s_); }

  UniqueFd fd_;                 // the connection the next answer goes to (none while waiting)
  const ServeOptions& opt_;
  wire::Clock::time_point start_;
  wire::Clock::time_point request_start_;   // the current request's (the first, or the step's answer)
  std::optional<Peer> peer_;
  std::vector<std::string> allowed_peers_;
  std::string request_id_;
  std::string user_;
  // The audit event's fields, once the request is read.
  audit::Way way_ = audit::Way::unknown;
  bool key_asked_ = false;      // a key step was sent: what is decided after it is the key's (way "key")
  std::string client_;
  std::string profile_;
  std::size_t profile_slot_ = 0;
  // The conversation, once the stack asks more than the password.
  std::string socket_base_;     // broker socket path the conversation sockets live beside
  std::string binding_;
  std::int64_t prompt_timeout_s_ = 120;
  std::int64_t sign_in_deadline_s_ = 600;
  ConversationSocket conv_;
  wire::ConversationId id_{};
  std::string tag_;
  std::uint8_t step_ = 0;
  std::string last_prompt_;     // the current step's frame, sent again to a repeated request
  SecureBytes* preread_;        // the request's body, read by the listener (or null)
  bool abandoned_ = false;      // a prompt went unanswered until broker.prompt_timeout
  bool passkey_ = false;        // a passkey sign-in: no account until the key answers
};

// Asks the listener whether this sign-in may hold a conversation for
// account (shares.hpp). nullopt: yes, or no listener to ask.
std::optional<std::string> ask_listener_to_hold(int control_fd, const std::string& account, std::chrono::seconds within) {
  if (control_fd < 0) return std::nullopt;
  std::string msg = "H" + account.substr(0, 400);
  if (::send(control_fd, msg.data(), msg.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(msg.size()))
    return "the listener's control channel: " + errno_text(errno);
  pollfd p{control_fd, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(within.count() * 1000)) <= 0) return std::string("the listener did not answer");
  char reply[512];
  ssize_t n = ::recv(control_fd, reply, sizeof reply, 0);
  if (n == 1 && reply[0] == 'Y') return std::nullopt;
  if (n > 1 && reply[0] == 'N') return std::string(reply + 1, static_cast<std::size_t>(n - 1));
  return std::string("the listener's control channel closed");
}

void Connection::arm_pam_watchdog() const {
  auto left = std::chrono::duration_cast<std::chrono::seconds>(sign_in_deadline() - wire::Clock::now()).count();
  ::alarm(static_cast<unsigned>(std::clamp<long long>(std::min<long long>(opt_.deadline.count(), left), 1, 3600)));
}

bool Connection::ask(const std::vector<wire::Message>& page, std::vector<SecureBytes>& answers) {
  return step({page}, {&answers});
}

bool Connection::ask_key(const wire::KeyChallenge& challenge, wire::KeyAssertion& assertion) {
  key_asked_ = true;
  return step({{}, &challenge}, {nullptr, &assertion});
}

bool Connection::ask_registration(const wire::KeyRegistration& registration,
                                  const std::vector<wire::KeyListEntry>& keys, wire::KeyRegistrationAnswer& answer,
                                  std::string& removal) {
  return step({{}, nullptr, &registration, &keys}, {nullptr, nullptr, &answer, &removal});
}

bool Connection::step(const StepAsk& ask, const StepAnswer& reply) {
  if (!fd_.valid()) return false;
  if (binding_.empty()) {
    log(LOG_WARNING, "the stack asks more than the password, and the client sent no conversation binding");
    return false;
  }
  if (step_ == 255) {
    log(LOG_WARNING, "more than 255 steps: giving up");
    return false;
  }
  if (!conv_.valid()) {
    // The slot's share first (issue 22.1): refused, the browser is told to
    // wait and the process ends here, inside the stack: the password was
    // right, so no module (pam_faillock) and no throttle counts a failure.
    // A passkey's conversation has no account yet: "" (its address's share caps it).
    if (auto why = ask_listener_to_hold(opt_.control_fd, passkey_ ? std::string() : throttle_account(user_).name,
                                        opt_.io_timeout)) {
      log(LOG_NOTICE, "user " + user_for_log(user_) + " from " + (client_.empty() ? "-" : client_) +
                          ": limited, no conversation held (" + *why + ")");
      wire::Response limited(wire::Status::unavailable, wire::Detail::limited);
      limited.cause = *why;
      end_child(answer(limited));
    }
    if (RAND_bytes(id_.data(), static_cast<int>(id_.size())) != 1) {
      log(LOG_ERR, "RAND_bytes failed");
      return false;
    }
    tag_ = wire::conversation_tag(id_);
    if (auto ok = conv_.open(wire::conversation_socket_path(socket_base_, id_)); !ok) {
      log(LOG_ERR, "cannot hold a conversation: " + ok.error() +
                       " (the broker's socket directory needs a conv/ directory it may write)");
      return false;
    }
  }
  ++step_;
  wire::Response resp;
  resp.status = wire::Status::prompt;
  resp.conversation = id_;
  resp.step = step_;
  resp.messages = ask.page;
  if (ask.key) resp.key = *ask.key;
  if (ask.registration) resp.registration = *ask.registration;
  if (ask.keys) {
    resp.keys = *ask.keys;
    resp.keys_listed = true;
  }
  last_prompt_ = wire::encode_response(resp);
  std::size_t prompts = 0;
  for (const auto& m : ask.page) prompts += m.is_prompt();
  log(LOG_INFO, "user " + user_for_log(user_) + ": " +
                    (ask.key            ? "asked for a security key (" + std::to_string(ask.key->credential_ids.size()) +
                                              " credential(s))"
                     : ask.registration ? std::string("asked for a new security key") +
                                              (ask.registration->invite_needed ? " and an invite code" : "")
                                        : "asked " + std::to_string(prompts) + " prompt(s)"));
  bool sent = send_on(fd_.get(), last_prompt_);
  fd_.reset();
  if (!sent) return false;
  ::alarm(0);   // the wait below has its own limits
  bool got = wait_for_answer(ask, reply);
  if (got) arm_pam_watchdog();
  else ::alarm(static_cast<unsigned>(std::max<long long>(1, opt_.deadline.count())));
  return got;
}

bool Connection::wait_for_answer(const StepAsk& ask, const StepAnswer& reply) {
  const std::size_t prompts = static_cast<std::size_t>(
      std::count_if(ask.page.begin(), ask.page.end(), [](const wire::Message& m) { return m.is_prompt(); }));
  const bool key = ask.key != nullptr;
  const bool registration = ask.registration != nullptr;
  const auto until = std::min(wire::Clock::now() + std::chrono::seconds(prompt_timeout_s_), sign_in_deadline());
  for (;;) {
    auto left = std::chrono::ceil<std::chrono::milliseconds>(until - wire::Clock::now()).count();
    if (left <= 0) {
      log(LOG_NOTICE, "no answer within " +
                          (until == sign_in_deadline() ? std::to_string(sign_in_deadline_s_) + " s (broker.sign_in_deadline)"
                                                       : std::to_string(prompt_timeout_s_) + " s (broker.prompt_timeout)") +
                          "; the sign-in is abandoned");
      abandoned_ = true;
      return false;
    }
    pollfd p{conv_.get(), POLLIN, 0};
    int n = ::poll(&p, 1, static_cast<int>(std::min<long long>(left, 60000)));
    if (n < 0 && errno != EINTR) {
      log(LOG_ERR, "poll: " + errno_text(errno));
      return false;
    }
    if (n <= 0) continue;
    UniqueFd conn(::accept4(conv_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!conn.valid()) continue;
    const auto arrived = wire::Clock::now();
    auto who = peer_of(conn.get());
    if (!who || !peer_allowed(allowed_peers_, *who)) {
      const std::string why = "conversation socket: refused a peer not in broker.allowed_peers" +
                              (who ? " (" + who->describe() + ")" : std::string());
      decided(LOG_WARNING, why, audit::Outcome::unavailable, why);
      send_on(conn.get(), wire::encode_response({wire::Status::unavailable, wire::Detail::peer_refused, {}}));
      continue;
    }
    auto refuse_here = [&](wire::Detail detail, const std::string& why) {
      decided(LOG_WARNING, why, audit::Outcome::error, why);
      send_on(conn.get(), wire::encode_response({wire::Status::error, detail, {}}));
    };
    wire::FrameRead frame = wire::read_frame(conn.get(), wire::Clock::now() + opt_.io_timeout, wire::kMaxRequestSize);
    if (frame.io != wire::Io::ok) continue;
    if (!frame.error.message.empty()) {
      refuse_here(frame.error.detail, "protocol error: " + frame.error.message);
      continue;
    }
    auto decoded = wire::decode_request_body(frame.body);
    frame.body.clear();
    frame.body.shrink_to_fit();
    if (!decoded.ok()) {
      refuse_here(decoded.error.detail, "protocol error: " + decoded.error.message);
      continue;
    }
    wire::Request& req = decoded.value;
    // The id is in the socket's name already; compared again, in constant
    // time, with the binding: an id without the browser's cookie gets nothing.
    if (!req.continues || CRYPTO_memcmp(req.conversation.data(), id_.data(), id_.size()) != 0 ||
        !same_secret(req.binding, binding_)) {
      refuse_here(wire::Detail::conversation,
                  "refused a continue request that does not belong to this browser's conversation (request " +
                      quote_for_log(req.request_id) + ")");
      continue;
    }
    if (req.step < step_) {
      // A repeated step (a second click, a reload): the current page again, nothing consumed.
      log(LOG_NOTICE, "step " + std::to_string(req.step) + " repeated: the current prompt is sent again");
      send_on(conn.get(), last_prompt_);
      continue;
    }
    if (req.step != step_ || req.answers.size() != prompts || req.key.present() != key ||
        (req.registration.present() || !req.key_removal.empty()) != registration) {
      refuse_here(wire::Detail::conversation, "refused answers for step " + std::to_string(req.step) + " (" +
                                                  (req.key.present()            ? std::string("a key assertion")
                                                   : req.registration.present() ? std::string("a key registration")
                                                   : !req.key_removal.empty()   ? std::string("a key removal")
                                                                                : std::to_string(req.answers.size())) +
                                                  " for " +
                                                  (key            ? std::string("a key step")
                                                   : registration ? std::string("a key registration step")
                                                                  : std::to_string(prompts) + " prompt(s)") +
                                                  ")");
      continue;
    }
    request_id_ = req.request_id;
    request_start_ = arrived;
    log(LOG_INFO, "answered");
    if (reply.answers) *reply.answers = std::move(req.answers);
    if (reply.assertion) *reply.assertion = std::move(req.key);
    if (reply.registration) *reply.registration = std::move(req.registration);
    if (reply.removal) *reply.removal = std::move(req.key_removal);
    fd_ = std::move(conn);
    return true;
  }
}

int Connection::run() {
  auto peer = peer_of(fd_.get());
  if (!peer) {
    log(LOG_ERR, peer.error());
    return 1;
  }
  peer_ = *peer;

  // The broker's own configuration decides everything; the request only names a profile.
  auto base = load_config(opt_.config_path);
  if (base) set_log_format(base->log.format);
  if (!base) return refuse(wire::Status::unavailable, wire::Detail::config, "configuration: " + base.error());
  allowed_peers_ = base->broker.allowed_peers;
  if (!peer_allowed(base->broker.allowed_peers, *peer_))
    return refuse(wire::Status::unavailable, wire::Detail::peer_refused,
                  "refused: peer is not in broker.allowed_peers");

  wire::FrameRead frame;
  if (preread_) {
    frame.io = wire::Io::ok;
    frame.body = std::move(*preread_);
  } else {
    frame = wire::read_frame(fd_.get(), start_ + opt_.io_timeout, wire::kMaxRequestSize);
  }
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
  // The peer is allowed, the config loads and so does the secret every
  // token needs (issue 25.7): that is all a ping asks.
  if (req.ping) {
    if (auto secret = load_secret_file(base->zendesk.secret_file); !secret) {
      const std::string why = "zendesk.secret_file: " + secret.error();
      log(LOG_ERR, "ping: " + why);
      wire::Response down(wire::Status::unavailable, wire::Detail::config);
      down.cause = why;
      return answer(down);
    }
    log(LOG_DEBUG, "ping: ok");
    return answer({wire::Status::ok, wire::Detail::none, {}});
  }
  if (req.continues)
    return refuse(wire::Status::error, wire::Detail::conversation,
                  "protocol error: a continue request belongs on its conversation's socket");
  user_ = req.user;
  way_ = req.from_session ? audit::Way::session : req.remote_user ? audit::Way::remote_user : audit::Way::password;
  client_ = req.client_address;

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
    set_log_format(cfg.log.format);
  }
  profile_ = req.profile;
  profile_slot_ = metrics::profile_slot(cfg.profile_names, req.profile);
  if (req.from_session) return session_sign_in(cfg, req);
  if (req.passkey) return passkey_sign_in(cfg, req);
  if (req.remote_user && !cfg.helper.trust_remote_user)
    return refuse(wire::Status::error, wire::Detail::remote_user_disabled,
                  "refused REMOTE_USER sign-in for " + quote_for_log(req.user) +
                      ": helper.trust_remote_user is off in the broker's configuration");

  if (req.enrol && !cfg.webauthn.enabled())
    return refuse(wire::Status::unavailable, wire::Detail::config,
                  "refused an enrolment for " + quote_for_log(req.user) +
                      ": no security keys here (webauthn.rp_id is not set in the broker's configuration)");

  prepare_conversation(cfg, req);
  // An enrolment's re-authentication is fresh: its whole conversation,
  // the password to the new key, fits in kEnrolFreshnessSeconds.
  if (req.enrol) sign_in_deadline_s_ = std::min<std::int64_t>(sign_in_deadline_s_, kEnrolFreshnessSeconds);
  const auto started = static_cast<std::int64_t>(::time(nullptr));

  LoginRequest login;
  login.user = req.user;
  login.password = std::move(req.password);
  login.password_checked_by_web_server = req.remote_user;
  login.client_address = req.client_address;
  login.profile = req.profile;
  login.request_id = req.request_id;
  login.caller_paces_failures = true;
  login.account_check_only = req.enrol;
  // Security keys (issue 23): only with webauthn.rp_id set, and after a
  // password (REMOTE_USER sign-ins were proven by the web server).
  std::optional<KeyStep> key_step;
  if (cfg.webauthn.enabled() && !req.remote_user) {
    key_step.emplace(
        cfg.webauthn, req.user,
        [this](const wire::KeyChallenge& c, wire::KeyAssertion& a) { return ask_key(c, a); },
        [this](int prio, const std::string& msg) { log(prio, msg); });
    if (req.enrol) key_step->for_enrolment();
    login.second_factor = &*key_step;
  }
  // Guessing from one address: refused without PAM, like a wrong password
  // and at the same failure deadline, so the page and the time say nothing
  // new. The account's owner elsewhere is not affected.
  const Throttle throttle(throttle_dir(socket_base_), cfg.broker);
  const bool throttled_pair = throttle.enabled() && !req.remote_user && !req.client_address.empty();
  const ThrottleAccount counted_as = throttled_pair ? throttle_account(req.user) : ThrottleAccount{};
  if (throttled_pair) {
    if (auto refusal = throttle.refused(counted_as, req.client_address, ::time(nullptr))) {
      const std::string& why = refusal->why;
      wire::Response refused(wire::Status::bad_login, wire::Detail::pam);
      refused.cause = why;
      return answer_refusal(cfg, refused, "user " + user_for_log(req.user) + ": bad_login (" + why + ")",
                            audit::Outcome::throttled);
    }
  }

  LoginOutcome out = pam_login(cfg, login, this);
  login.password.clear();
  login.password.shrink_to_fit();
  std::vector<wire::KeyListEntry> enrolled_keys;
  if (req.enrol && out.status == LoginStatus::ok) {
    // Re-authenticated (and a key holder's key proven): now the new key.
    EnrolStep enrol(
        cfg.webauthn, req.user,
        [this](const wire::KeyRegistration& r, const std::vector<wire::KeyListEntry>& k,
               wire::KeyRegistrationAnswer& a, std::string& removal) { return ask_registration(r, k, a, removal); },
        [this](int prio, const std::string& msg) { log(prio, msg); });
    auto enrolled = enrol.run(key_step ? key_step->keys() : std::vector<authfile::Credential>{}, out.other_factor, started);
    out = std::move(enrolled.login);
    enrolled_keys = std::move(enrolled.keys);
  }
  // A right password and then no answer until the prompt timed out counts
  // as a failure: else one person could hold conversations forever, free.
  if (throttled_pair && (out.status == LoginStatus::bad_login || abandoned_))
    throttle.failed(counted_as, req.client_address, ::time(nullptr));
  if (throttled_pair && out.status == LoginStatus::ok) throttle.succeeded(counted_as, req.client_address);

  wire::Response resp{to_wire(out.status), detail_for(out), std::move(out.token)};
  if (out.status == LoginStatus::ok) resp.messages = std::move(out.messages);
  if (out.status == LoginStatus::ok && !req.enrol)
    attach_new_session(cfg, req.user, req.profile, resp, key_step ? key_step->proven_key() : std::string());
  if (out.status == LoginStatus::ok && req.enrol) {
    resp.keys = std::move(enrolled_keys);
    resp.keys_listed = true;
  }
  resp.cause = out.detail;
  // After a conversation the CGI's request carried no user name: say whose it was.
  if (step_ > 0 && resp.status != wire::Status::prompt) resp.user = req.user;
  const std::string client = req.client_address.empty() ? "-" : req.client_address;
  const std::string decision = "user " + user_for_log(req.user) + " from " + client +
                               (req.profile.empty() ? "" : " profile " + req.profile) + ": " +
                               std::string(wire::status_name(resp.status)) + " (" + out.detail + ")";
  if (!fd_.valid()) {
    // Abandoned mid-conversation: nobody to answer; the CGI finds the socket gone.
    decided(LOG_NOTICE, decision + "; nobody is waiting for the answer", audit::Outcome::abandoned, resp.cause);
    return 1;
  }
  const audit::Outcome outcome = audit_outcome(out.status).value_or(audit::Outcome::error);
  if (resp.status == wire::Status::bad_login)
    return answer_refusal(cfg, resp, decision + pam_delay_note(out), outcome);
  if (resp.status != wire::Status::prompt) decided(out.status == LoginStatus::ok ? LOG_INFO : LOG_NOTICE, decision, outcome, resp.cause);
  else log(LOG_INFO, decision);
  return answer(resp);
}

int Connection::session_sign_in(const Config& cfg, const wire::Request& req) {
  SessionSignIn si;
  si.cookie = req.session;
  si.client_address = req.client_address;
  si.profile = req.profile;
  si.request_id = req.request_id;
  // A session a security-key sign-in made ("k") holds while that key is the
  // account's: the keys as webauthn.authfile holds them now.
  if (auto claimed = parse_session_unverified(req.session); claimed && claimed->bound.starts_with('k')) {
    auto keys = cfg.webauthn.enabled() ? authfile::user_keys(cfg.webauthn.authfile, claimed->user)
                                       : Result<std::vector<authfile::Credential>>(std::vector<authfile::Credential>{});
    if (!keys) log(LOG_ERR, "webauthn.authfile " + cfg.webauthn.authfile + ": " + keys.error() +
                                " (a session a security key made cannot be checked: refused)");
    else for (const auto& k : *keys) si.user_keys.push_back(k.public_key);
  }
  LoginOutcome out = session_login(cfg, si, static_cast<std::int64_t>(::time(nullptr)));
  wire::Response resp{to_wire(out.status), detail_for(out), std::move(out.token)};
  if (out.status == LoginStatus::ok) resp.session = std::move(out.session);
  resp.cause = out.detail;
  const std::string client = req.client_address.empty() ? "-" : req.client_address;
  // The cookie's user once it is proven: an unverified cookie names nobody.
  if (out.status == LoginStatus::ok)
    if (auto s = parse_session_unverified(resp.session)) user_ = s->user;
  decided(out.status == LoginStatus::ok ? LOG_INFO : LOG_NOTICE,
          "session sign-in from " + client + (req.profile.empty() ? "" : " profile " + req.profile) + ": " +
              std::string(wire::status_name(resp.status)) + " (" + out.detail + ")",
          audit_outcome(out.status).value_or(audit::Outcome::error), out.detail);
  return answer(resp);
}

int Connection::passkey_sign_in(const Config& cfg, const wire::Request& req) {
  // Off: refused before anything is read or asked.
  if (!cfg.webauthn.enabled() || !cfg.webauthn.passwordless)
    return refuse(wire::Status::not_allowed, wire::Detail::passwordless_off,
                  "refused a passkey sign-in: webauthn.passwordless is off in the broker's configuration");
  passkey_ = true;
  prepare_conversation(cfg, req);
  const std::string client = req.client_address.empty() ? "-" : req.client_address;
  // No account until the key is verified: the address's tallies count the
  // failures (a pair tally under one name for every passkey, and the
  // address-wide one), and refuse an address that holds a ban.
  const Throttle throttle(throttle_dir(socket_base_), cfg.broker);
  const ThrottleAccount counted_as{"(passkey)", false};
  const bool throttled = throttle.enabled() && !req.client_address.empty();
  if (throttled)
    if (auto refusal = throttle.refused(counted_as, req.client_address, ::time(nullptr))) {
      wire::Response refused(wire::Status::bad_login, wire::Detail::pam);
      refused.cause = refusal->why;
      return answer_refusal(cfg, refused, "passkey sign-in from " + client + ": bad_login (" + refusal->why + ")",
                            audit::Outcome::throttled);
    }

  KeyStep key(
      cfg.webauthn, std::string(),
      [this](const wire::KeyChallenge& c, wire::KeyAssertion& a) { return ask_key(c, a); },
      [this](int prio, const std::string& msg) { log(prio, msg); });
  LoginOutcome out;
  if (auto refused = key.prove_passkey()) {
    out = std::move(*refused);
  } else {
    // The key named and proved the account: a REMOTE_USER sign-in from here
    // (pam_acct_mgmt and pam_setcred, no pam_authenticate).
    user_ = key.user();
    LoginRequest login;
    login.user = key.user();
    login.password_checked_by_web_server = true;
    login.client_address = req.client_address;
    login.profile = req.profile;
    login.request_id = request_id_;
    login.caller_paces_failures = true;
    arm_pam_watchdog();
    out = pam_login(cfg, login, this);
  }
  if (throttled && (out.status == LoginStatus::bad_login || abandoned_))
    throttle.failed(counted_as, req.client_address, ::time(nullptr));

  wire::Response resp{to_wire(out.status), detail_for(out), std::move(out.token)};
  if (out.status == LoginStatus::ok) {
    resp.messages = std::move(out.messages);
    attach_new_session(cfg, user_, req.profile, resp, key.proven_key());
  }
  resp.cause = out.detail;
  // The account, once the key proved it (the CGI's request named none).
  if (resp.status != wire::Status::prompt && !user_.empty()) resp.user = user_;
  const std::string decision = "passkey sign-in" + (user_.empty() ? std::string() : " of user " + user_for_log(user_)) +
                               " from " + client + (req.profile.empty() ? "" : " profile " + req.profile) + ": " +
                               std::string(wire::status_name(resp.status)) + " (" + out.detail + ")";
  if (!fd_.valid()) {
    decided(LOG_NOTICE, decision + "; nobody is waiting for the answer", audit::Outcome::abandoned, resp.cause);
    return 1;
  }
  const audit::Outcome outcome = audit_outcome(out.status).value_or(audit::Outcome::error);
  // An account refusal after a proven key looks like any bad login (no enumeration).
  if (resp.status == wire::Status::bad_login) return answer_refusal(cfg, resp, decision + pam_delay_note(out), outcome);
  decided(out.status == LoginStatus::ok ? LOG_INFO : LOG_NOTICE, decision, outcome, resp.cause);
  return answer(resp);
}

void Connection::attach_new_session(const Config& cfg, const std::string& user, const std::string& profile,
                                    wire::Response& resp, const std::string& security_key) const {
  if (!cfg.session.enabled()) return;
  auto cookie = new_session_cookie(cfg, user, profile, static_cast<std::int64_t>(::time(nullptr)), security_key);
  if (cookie) resp.session = std::move(*cookie);
  else log(LOG_ERR, "no session cookie for this sign-in: " + cookie.error());
}

}  // namespace

int serve_connection(int fd, const ServeOptions& opt, SecureBytes* request) {
  // A stuck PAM module must not keep the process forever; SIGALRM's default
  // action ends it. Waiting for the browser has its own limits (ask()).
  ::alarm(static_cast<unsigned>(std::max<long long>(1, opt.deadline.count())));
  Connection conn(fd, opt, request);
  int rc = conn.run();
  ::alarm(0);
  return rc;
}

void end_child(int status) {
  sigset_t stops;
  sigemptyset(&stops);
  sigaddset(&stops, SIGTERM);
  sigaddset(&stops, SIGINT);
  ::sigprocmask(SIG_BLOCK, &stops, nullptr);
  std::exit(status);
}

}  // namespace zsso::authd
