// SPDX-License-Identifier: BSD-3-Clause
#include "cli.hpp"

#include <cstdio>
#include <cstdlib>

namespace zsso::cli {

std::string pam_service_path(const std::string& service) {
  const char* dir = std::getenv("PAM_WRAPPER_SERVICE_DIR");
  return std::string(dir && *dir ? dir : "/etc/pam.d") + "/" + service;
}

std::optional<Config> load_or_report(const Context& ctx) {
  auto cfg = load_config(ctx.config_path, ctx.profile);
  if (!cfg) {
    std::fprintf(stderr, "%s\n", cfg.error().c_str());
    return std::nullopt;
  }
  return std::move(*cfg);
}

std::optional<Secret> load_secret_or_report(const Config& cfg) {
  auto secret = load_secret_file(cfg.zendesk.secret_file);
  if (!secret) {
    std::fprintf(stderr, "zendesk-sso: %s\n", secret.error().c_str());
    return std::nullopt;
  }
  return std::move(*secret);
}

const std::string* ParsedArgs::get(std::string_view name) const {
  for (const auto& [k, v] : options)
    if (k == name) return &v;
  return nullptr;
}

std::optional<ParsedArgs> parse_args(const std::vector<std::string>& args,
                                     const std::vector<std::string_view>& valued,
                                     const std::vector<std::string_view>& flags) {
  ParsedArgs out;
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string_view a = args[i];
    if (a.size() < 2 || a.substr(0, 2) != "--") {
      out.positional.emplace_back(a);
      continue;
    }
    std::string_view name = a, value;
    bool inline_value = false;
    if (auto eq = a.find('='); eq != std::string_view::npos) {
      name = a.substr(0, eq);
      value = a.substr(eq + 1);
      inline_value = true;
    }
    bool is_flag = false, is_valued = false;
    for (auto f : flags) is_flag = is_flag || f == name;
    for (auto v : valued) is_valued = is_valued || v == name;
    if (is_flag && !inline_value) {
      out.options.emplace_back(std::string(name), "");
    } else if (is_valued) {
      if (!inline_value) {
        if (i + 1 >= args.size()) {
          std::fprintf(stderr, "zendesk-sso: %.*s needs a value\n", static_cast<int>(name.size()), name.data());
          return std::nullopt;
        }
        value = args[++i];
      }
      out.options.emplace_back(std::string(name), std::string(value));
    } else {
      std::fprintf(stderr, "zendesk-sso: unknown option %.*s (see --help)\n", static_cast<int>(a.size()), a.data());
      return std::nullopt;
    }
  }
  return out;
}

}  // namespace zsso::cli
