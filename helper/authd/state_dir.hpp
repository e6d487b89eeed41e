// SPDX-License-Identifier: BSD-3-Clause
// The broker's state folders beside its socket (conv/, throttle/, and the
// packaged PAM stack's faillock/): what they hold steers who may sign in,
// so they are used only when the broker's own user owns them and nobody
// else may write them. Checked at start (the listener refuses to start)
// and, for throttle/, again on every use.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <string>

#include "zsso/result.hpp"

namespace zsso::authd {

// st (from lstat/fstat of dir) is a directory owned by the running user
// and not writable by group or others; else why not, naming the fix.
Result<void> check_state_dir(const std::string& dir, const struct stat& st);

// Makes dir with mode when it is missing (create), checks it as above and
// narrows its mode to `mode`. Without create a missing dir is fine.
Result<void> prepare_state_dir(const std::string& dir, mode_t mode, bool create = true);

}  // namespace zsso::authd
