// SPDX-License-Identifier: BSD-3-Clause
// `zendesk-sso check`'s deployment half (check_deployment.cpp): the files as
// the web server's and the broker's users open them, broker.allowed_peers,
// the socket, a ping to the broker as the web server's user, HTTPS, the clock.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

#include "zsso/config.hpp"

namespace zsso::cli {

struct DeploymentOptions {
  std::string web_user;                    // empty: from Apache's envvars, fcgiwrap's unit or nginx.conf
  std::string broker_user;                 // empty: User= of zendesk-sso-authd.service (or @.service)
  std::vector<std::string> broker_groups;  // with broker_user: its supplementary groups (the unit's otherwise)
  std::string apache_dir = "/etc/apache2";
  std::string nginx_dir = "/etc/nginx";
};

struct CheckReport {
  std::vector<std::string> problems;   // each may carry "\n  fix: COMMAND"
  std::vector<std::string> warnings;
  std::vector<std::string> passed;     // for the summary line
};

struct Account {
  std::string name;
  uid_t uid = 0;
  gid_t gid = 0;
  std::string group;                   // primary group's name
  std::vector<gid_t> groups;           // as initgroups() + the unit's SupplementaryGroups give them
  std::string source;                  // where we learnt the name
};

// The "fix:" command for a secret file that did not load, from the reason
// its loader gave (error) and what the file is now: missing (create, then
// fill), a link, an owner or mode outside the rule or a reader that may not
// open it (chown root:group, chmod 0640), or bad contents (fill: the
// command that writes them).
std::string secret_file_fix(const std::string& path, const std::string& error, const std::string& group,
                            const std::string& fill);

// "cat > PATH   # paste WHAT, Enter, Ctrl-D": how a secret from Zendesk gets into its file.
std::string paste_command(const std::string& path, std::string_view what);

// The group that reads the secrets: the broker's user's (broker mode) or
// the web server's (direct mode), from the options or Debian's defaults.
std::string secret_reader_group(const Config& cfg, const DeploymentOptions& opt);

// all: the base config first, then every profile.
void check_deployment(const std::vector<Config>& all, const std::string& config_path, const DeploymentOptions& opt,
                      CheckReport& report);

}  // namespace zsso::cli
