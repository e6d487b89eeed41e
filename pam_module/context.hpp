// SPDX-License-Identifier: BSD-3-Clause
// What every entry point starts from: its arguments, read for each call, and
// the config they name, read once per PAM handle (one transaction).
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

// The config args.config_path names, with args.profile: loaded at this
// handle's first call that asks for it and kept with pam_set_data until
// pam_end, so a sign-in's authenticate, acct_mgmt and setcred parse it once
// (one key per path and profile; nothing outlives the handle). On failure
// logs one line naming the file and every problem, and returns nullptr (the
// next call tries again).
const Config* load_module_config(pam_handle_t* pamh, const CallContext& ctx);

}  // namespace zsso::pam
