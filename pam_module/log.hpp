// SPDX-License-Identifier: BSD-3-Clause
// Every line the module writes goes to syslog through pam_syslog (which adds
// "pam_zendesk(service:type):"). Nothing ever goes to stdout/stderr, and no
// caller passes a secret, a password or a whole token here.
#pragma once

#include <string_view>

#include <security/pam_modules.h>

namespace zsso::pam {

class ModuleLog {
 public:
  ModuleLog(pam_handle_t* pamh, bool debug, bool silent) : pamh_(pamh), debug_(debug), silent_(silent) {}

  void error(std::string_view msg) const;    // broken setup: LOG_ERR
  void refused(std::string_view msg) const;  // a policy decision against the user: LOG_NOTICE
  void allowed(std::string_view msg) const;  // LOG_INFO unless the silent argument is set
  void debug(std::string_view msg) const;    // LOG_DEBUG with the debug argument

 private:
  void write(int priority, std::string_view msg) const;
  pam_handle_t* pamh_;
  bool debug_;
  bool silent_;
};

}  // namespace zsso::pam
