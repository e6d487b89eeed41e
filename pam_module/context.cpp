// SPDX-License-Identifier: BSD-3-Clause
#include "context.hpp"

#include <memory>
#include <string>

#include "zsso/text.hpp"

namespace zsso::pam {

namespace {

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : ",") + s;
  return out.empty() ? "-" : out;
}

// pam_end (or a pam_set_data replacing it) frees the handle's copy; libpam
// calls this before it unloads the module. The Config holds no secret (the
// secret file is read and wiped where a token is signed).
extern "C" void free_config(pam_handle_t*, void* data, int) { delete static_cast<Config*>(data); }

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

const Config* load_module_config(pam_handle_t* pamh, const CallContext& ctx) {
  // The key names this build's layout ("v1") as well as the file: data is
  // per handle, and a handle only ever sees one pam_zendesk.so.
  const std::string key = "zendesk-sso/config/v1\n" + ctx.args.config_path + "\n" + ctx.args.profile;
  const void* kept = nullptr;
  if (pam_get_data(pamh, key.c_str(), &kept) == PAM_SUCCESS && kept) return static_cast<const Config*>(kept);

  auto cfg = load_config(ctx.args.config_path, ctx.args.profile);
  if (!cfg) {
    ctx.log.error("cannot use config: " + cfg.error());
    return nullptr;
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
  auto owned = std::make_unique<Config>(std::move(*cfg));
  if (int rc = pam_set_data(pamh, key.c_str(), owned.get(), free_config); rc != PAM_SUCCESS) {
    ctx.log.error(std::string("cannot keep the config for this PAM handle: ") + pam_strerror(pamh, rc));
    return nullptr;
  }
  return owned.release();
}

}  // namespace zsso::pam
