// SPDX-License-Identifier: BSD-3-Clause
#include "log.hpp"

#include <syslog.h>

#include <string>

#include <security/pam_ext.h>

namespace zsso::pam {

void ModuleLog::write(int priority, std::string_view msg) const {
  // One line per event: multi-line messages (config errors list every
  // problem) are joined so log readers see them together.
  std::string line(msg);
  for (std::size_t pos = 0; (pos = line.find('\n', pos)) != std::string::npos;) line.replace(pos, 1, "; ");
  pam_syslog(pamh_, priority, "%s", line.c_str());
}

void ModuleLog::error(std::string_view msg) const { write(LOG_ERR, msg); }
void ModuleLog::refused(std::string_view msg) const { write(LOG_NOTICE, msg); }

void ModuleLog::allowed(std::string_view msg) const {
  if (!silent_) write(LOG_INFO, msg);
}

void ModuleLog::debug(std::string_view msg) const {
  if (debug_) write(LOG_DEBUG, msg);
}

}  // namespace zsso::pam
