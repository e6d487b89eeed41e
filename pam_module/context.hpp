// SPDX-License-Identifier: BSD-3-Clause
// What every entry point starts from: its arguments and the config they name,
// both read afresh for each call.
#pragma once

#include <optional>

#include <security/pam_modules.h>

#include "args.hpp"
#include "log.hpp"
#include "zsso/config.hpp"

namespace zsso::pam {

struct CallContext {
  ModuleArgs args;
  ModuleLog log;
};

// Parses argv; on a bad argument logs one line and returns nullopt (the caller
// answers PAM_SERVICE_ERR).
std::optional<CallContext> start_call(pam_handle_t* pamh, int argc, const char** argv);

// Loads args.config_path with args.profile; on failure logs one line naming
// the file and every problem, and returns nullopt.
std::optional<Config> load_module_config(pam_handle_t* pamh, const CallContext& ctx);

}  // namespace zsso::pam
