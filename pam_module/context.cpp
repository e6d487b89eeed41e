// SPDX-License-Identifier: BSD-3-Clause
#include "context.hpp"

#include <string>

#include "zsso/text.hpp"

namespace zsso::pam {

namespace {

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : ",") + s;
  return out.empty() ? "-" : out;
}

}  // namespace

std::optional<CallContext> start_call(pam_handle_t* pamh, int argc, const char** argv) {
  auto args = parse_module_args(argc, argv);
  if (!args) {
    ModuleLog(pamh, false, false).error(args.error());
    return std::nullopt;
  }
  ModuleLog log(pamh, args->debug, args->silent);
  return CallContext{std::move(*args), log};
}

std::optional<Config> load_module_config(pam_handle_t* pamh, const CallContext& ctx) {
  auto cfg = load_config(ctx.args.config_path, ctx.args.profile);
  if (!cfg) {
    ctx.log.error("cannot use config: " + cfg.error());
    return std::nullopt;
  }
  if (ctx.args.debug) {
    const auto& a = cfg->access;
    ctx.log.debug("config " + ctx.args.config_path + " profile " +
                  quote_for_log(ctx.args.profile) + ": ip_ranges " + join(cfg->network.ip_ranges) +
                  ", min_uid " + std::to_string(a.min_uid) + ", allow_root " +
                  (a.allow_root ? "true" : "false") + ", allowed_groups " + join(a.allowed_groups) +
                  ", denied_groups " + join(a.denied_groups) + ", secret_file " +
                  cfg->zendesk.secret_file);
    // Profiles name their own PAM service; a mismatch usually means the
    // service file and the config disagree about which profile this is.
    const void* service = nullptr;
    if (pam_get_item(pamh, PAM_SERVICE, &service) == PAM_SUCCESS && service &&
        cfg->pam.service != static_cast<const char*>(service))
      ctx.log.debug("this PAM service is " + quote_for_log(static_cast<const char*>(service)) +
                    " but the config's pam.service is " + quote_for_log(cfg->pam.service));
  }
  return std::move(*cfg);
}

}  // namespace zsso::pam
