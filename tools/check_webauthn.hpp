// SPDX-License-Identifier: BSD-3-Clause
// `zendesk-sso check` for security keys (webauthn.*, issue 23.6): what
// browsers and the broker need that the config parser cannot see by itself
// (a public suffix as rp_id, direct mode, the PAM stack's skip line). The
// key store's files and the sign-in host's name are the deployment half's
// (check_deployment.cpp).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "zsso/config.hpp"

namespace zsso::cli {

// Debian's publicsuffix (recommended by libpsl5, which libcurl needs).
inline constexpr const char* kPublicSuffixList = "/usr/share/publicsuffix/public_suffix_list.dat";

// Whether host is a rule of the Public Suffix List text (its exact rules,
// "*." wildcards and "!" exceptions): a name under which anyone may
// register, so no browser accepts it as an rp_id.
bool is_public_suffix(std::string_view host, std::string_view list);

// rp_id, user_verification and broker mode for one config (base or profile).
void check_webauthn(const Config& c, const std::string& who, const std::string& config_path,
                    std::vector<std::string>& problems, std::vector<std::string>& warnings);

// The PAM service file's text asks a one-time code without the key
// holders' skip line: the warning, or "" when the stack is right.
std::string webauthn_stack_warning(const Config& c, const std::string& path, const std::string& stack);

}  // namespace zsso::cli
