// SPDX-License-Identifier: BSD-3-Clause
#include "login.hpp"

namespace zsso {

LoginOutcome sign_in(const Config& cfg, const LoginRequest& req) {
  return cfg.broker.socket.empty() ? direct_login(cfg, req) : broker_login(cfg, req);
}

LoginOutcome sign_in_from_session(const Config& cfg, const SessionSignIn& req, std::int64_t now) {
  return cfg.broker.socket.empty() ? direct_session_login(cfg, req, now) : broker_session_login(cfg, req);
}

}  // namespace zsso
