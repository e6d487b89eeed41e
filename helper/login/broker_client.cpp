// Placeholder until zendesk-sso-authd and its protocol land (broker work).
#include "login.hpp"

namespace zsso {

LoginOutcome broker_login(const Config&, const LoginRequest&) {
  return {LoginStatus::unavailable, {}, "broker client not built yet"};
}

}  // namespace zsso
