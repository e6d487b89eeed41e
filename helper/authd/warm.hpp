// SPDX-License-Identifier: BSD-3-Clause
// What every sign-in child would otherwise pay again, paid once by the
// listener and inherited through fork() (issue 16: keep the broker warm):
// OpenSSL's initialisation (the system openssl.cnf, provider tables, the
// DRBG — which reseeds itself in each child, as OpenSSL detects the fork) and
// the loading of the services' PAM modules (a PAM handle per service is
// kept open, so a child's pam_start finds every module mapped already).
#pragma once

#include <security/pam_appl.h>

#include <string>
#include <vector>

#include "zsso/config.hpp"

namespace zsso::authd {

class Warm {
 public:
  Warm() = default;
  Warm(const Warm&) = delete;
  Warm& operator=(const Warm&) = delete;
  ~Warm();
  // The services of cfg and of each of its profiles; a service that cannot
  // start is logged and skipped (the sign-in says why, as before).
  void start(const Config& cfg, const std::string& config_path);
  std::size_t services() const { return handles_.size(); }

 private:
  std::vector<pam_handle_t*> handles_;
};

}  // namespace zsso::authd
