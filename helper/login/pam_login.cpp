// Placeholder until the in-process PAM transaction lands (CGI work).
#include "login.hpp"

namespace zsso {

LoginOutcome pam_login(const Config&, const LoginRequest&) {
  return {LoginStatus::unavailable, {}, "in-process PAM not built yet"};
}

}  // namespace zsso
