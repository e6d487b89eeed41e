// SPDX-License-Identifier: BSD-3-Clause
#include "login.hpp"

namespace zsso {

LoginOutcome sign_in(const Config& cfg, const LoginRequest& req) {
  return cfg.broker.socket.empty() ? pam_login(cfg, req) : broker_login(cfg, req);
}

}  // namespace zsso
