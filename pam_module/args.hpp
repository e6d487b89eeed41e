// SPDX-License-Identifier: BSD-3-Clause
// Module arguments from the PAM service file, parsed on every call (no state
// is kept between handles).
#pragma once

#include <string>

#include "zsso/result.hpp"

namespace zsso::pam {

struct ModuleArgs {
  std::string config_path;   // config=PATH, absolute; default /etc/zendesk-sso/config.json
  std::string profile;       // profile=NAME ("" = the config's base section)
  bool debug = false;        // log effective settings and every step at LOG_DEBUG
  bool silent = false;       // no LOG_INFO line for allowed decisions, only refusals and errors
};

// Unknown, repeated or malformed arguments are errors naming the argument:
// a typo must never turn a policy off silently.
Result<ModuleArgs> parse_module_args(int argc, const char** argv);

}  // namespace zsso::pam
