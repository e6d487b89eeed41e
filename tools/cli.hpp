// SPDX-License-Identifier: BSD-3-Clause
// The admin CLI: one file per command, this header for what they share.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "zsso/config.hpp"
#include "zsso/secret.hpp"

namespace zsso::cli {

inline constexpr int kOk = 0;
inline constexpr int kFail = 1;    // the check failed / not valid / outside
inline constexpr int kUsage = 2;   // bad arguments or unusable config

struct Context {
  std::string config_path;
  std::string profile;
  std::vector<std::string> args;   // after the command name
};

// Where libpam looks for the service file (pam_wrapper redirects it in tests).
std::string pam_service_path(const std::string& service);

// Loads the config or prints why not (to stderr).
std::optional<Config> load_or_report(const Context& ctx);
// Loads the config's shared secret (zendesk.secret_file) or prints why not.
std::optional<Secret> load_secret_or_report(const Config& cfg);

// Splits "--opt VALUE"/"--opt=VALUE" options from positionals. Unknown
// options are an error. Flags listed in `flags` take no value.
struct ParsedArgs {
  std::vector<std::string> positional;
  std::vector<std::pair<std::string, std::string>> options;
  const std::string* get(std::string_view name) const;
  bool has(std::string_view name) const { return get(name) != nullptr; }
};
std::optional<ParsedArgs> parse_args(const std::vector<std::string>& args,
                                     const std::vector<std::string_view>& valued,
                                     const std::vector<std::string_view>& flags);

int cmd_check(const Context& ctx);
int cmd_mint(const Context& ctx);
int cmd_verify(const Context& ctx);
int cmd_ip_test(const Context& ctx);
int cmd_probe(const Context& ctx);   // cmd_probe.cpp and cmd_sync.cpp: the libcurl users
int cmd_sync(const Context& ctx);
int cmd_session(const Context& ctx);
int cmd_unlock(const Context& ctx);
int cmd_keys(const Context& ctx);

}  // namespace zsso::cli
