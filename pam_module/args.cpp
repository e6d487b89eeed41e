// SPDX-License-Identifier: BSD-3-Clause
#include "args.hpp"

#include <string_view>

#include "zsso/config.hpp"
#include "zsso/text.hpp"

namespace zsso::pam {

namespace {

// Set once: a second config= or profile= is more likely a mistake than an override.
bool set_once(std::string& field, bool& seen, std::string_view value) {
  if (seen) return false;
  seen = true;
  field = std::string(value);
  return true;
}

}  // namespace

Result<ModuleArgs> parse_module_args(int argc, const char** argv) {
  ModuleArgs args;
  args.config_path = kDefaultConfigPath;
  bool seen_config = false, seen_profile = false;
  for (int i = 0; i < argc; ++i) {
    if (!argv || !argv[i]) return Error{"null module argument"};
    std::string_view arg = argv[i];
    if (arg == "debug") {
      args.debug = true;
    } else if (arg == "silent") {
      args.silent = true;
    } else if (arg.starts_with("config=")) {
      std::string_view path = arg.substr(7);
      // PAM hosts run from any directory, so a relative path would be a guess.
      if (path.empty() || path.front() != '/')
        return Error{"module argument config= needs an absolute path, got " + quote_for_log(path)};
      if (!set_once(args.config_path, seen_config, path))
        return Error{"module argument config= given more than once"};
    } else if (arg.starts_with("profile=")) {
      std::string_view name = arg.substr(8);
      if (name.empty()) return Error{"module argument profile= needs a profile name"};
      if (!set_once(args.profile, seen_profile, name))
        return Error{"module argument profile= given more than once"};
    } else {
      return Error{"unknown module argument " + quote_for_log(arg) +
                   " (known: config=PATH profile=NAME debug silent)"};
    }
  }
  return args;
}

}  // namespace zsso::pam
