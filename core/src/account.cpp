// SPDX-License-Identifier: BSD-3-Clause
#include "zsso/account.hpp"

#include <grp.h>
#include <pwd.h>
#include <shadow.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <vector>

#include "zsso/secret.hpp"
#include "zsso/text.hpp"

namespace zsso {

bool Account::in_group(std::string_view g) const {
  return std::find(groups.begin(), groups.end(), g) != groups.end();
}

namespace {

std::size_t buffer_hint(int name) {
  long n = ::sysconf(name);
  return n > 0 ? static_cast<std::size_t>(n) : 4096;
}

// getgrgid_r with a growing buffer; "" when the gid has no name.
std::string group_name(gid_t gid) {
  std::vector<char> buf(buffer_hint(_SC_GETGR_R_SIZE_MAX));
  for (int tries = 0; tries < 8; ++tries) {
    struct group gr {};
    struct group* out = nullptr;
    int rc = ::getgrgid_r(gid, &gr, buf.data(), buf.size(), &out);
    if (rc == ERANGE) { buf.resize(buf.size() * 4); continue; }
    if (rc != 0 || !out || !out->gr_name) return {};
    return out->gr_name;
  }
  return {};
}

bool usable_name(std::string_view user) {
  return !user.empty() && user.size() <= 256 && user.find('\0') == std::string_view::npos;
}

// getpwnam_r with a growing buffer: 0 (out set, or null for no such user) or an error.
int find_passwd(const std::string& name, struct passwd& pw, std::vector<char>& buf, struct passwd*& out) {
  buf.resize(buffer_hint(_SC_GETPW_R_SIZE_MAX));
  out = nullptr;
  int rc = 0;
  for (int tries = 0; tries < 8; ++tries) {
    rc = ::getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(), &out);
    if (rc != ERANGE) break;
    buf.resize(buf.size() * 4);
  }
  if (rc == ENOENT || rc == ESRCH || rc == EBADF || rc == EPERM) return 0;   // "not found" in NSS's dialects
  return rc;
}

}  // namespace

std::string user_for_log(std::string_view user) {
  if (usable_name(user)) {
    struct passwd pw {};
    struct passwd* out = nullptr;
    std::vector<char> buf;
    std::string name(user);   // may be a password typed into the wrong field
    bool known = find_passwd(name, pw, buf, out) == 0 && out;
    secure_wipe(name.data(), name.size());
    if (known) return quote_for_log(user, 64);
  }
  return "unknown(" + std::to_string(user.size()) + " bytes)";
}

AccountLookup lookup_account(std::string_view user) {
  AccountLookup r;
  if (!usable_name(user)) {
    r.status = LookupStatus::unknown;
    r.error = "unknown user";
    return r;
  }
  std::string name(user);
  std::vector<char> buf;
  struct passwd pw {};
  struct passwd* out = nullptr;
  int rc = find_passwd(name, pw, buf, out);
  if (rc != 0) {
    r.status = LookupStatus::error;
    r.error = "user database lookup failed";
    return r;
  }
  if (!out) {
    r.status = LookupStatus::unknown;
    r.error = "unknown user";
    return r;
  }
  Account& a = r.account;
  a.user = out->pw_name;
  a.uid = out->pw_uid;
  a.gid = out->pw_gid;
  std::string_view gecos = out->pw_gecos ? out->pw_gecos : "";
  a.gecos = std::string(gecos.substr(0, gecos.find(',')));
  a.home = out->pw_dir ? out->pw_dir : "";
  a.group = group_name(a.gid);

  int ngroups = 32;
  std::vector<gid_t> gids(static_cast<std::size_t>(ngroups));
  bool listed = false;
  for (int tries = 0; tries < 8 && !listed; ++tries) {
    int n = ngroups;
    if (::getgrouplist(a.user.c_str(), a.gid, gids.data(), &n) >= 0) {
      gids.resize(static_cast<std::size_t>(n));
      listed = true;
      break;
    }
    ngroups = std::max(n, ngroups * 2);
    gids.resize(static_cast<std::size_t>(ngroups));
  }
  if (!listed) {
    r.status = LookupStatus::error;
    r.error = "group database lookup failed";
    return r;
  }
  if (!a.group.empty()) a.groups.push_back(a.group);
  for (gid_t g : gids) {
    if (g == a.gid) continue;
    std::string gn = group_name(g);
    if (!gn.empty() && !a.in_group(gn)) a.groups.push_back(std::move(gn));
  }
  r.status = LookupStatus::found;
  return r;
}

AccountLookup lookup_account_by_uid(uid_t uid) {
  std::vector<char> buf(buffer_hint(_SC_GETPW_R_SIZE_MAX));
  struct passwd pw {};
  struct passwd* out = nullptr;
  int rc = 0;
  for (int tries = 0; tries < 8; ++tries) {
    rc = ::getpwuid_r(uid, &pw, buf.data(), buf.size(), &out);
    if (rc != ERANGE) break;
    buf.resize(buf.size() * 4);
  }
  if (rc != 0 && rc != ENOENT && rc != ESRCH && rc != EBADF && rc != EPERM) {
    AccountLookup r;
    r.status = LookupStatus::error;
    r.error = "user database lookup failed";
    return r;
  }
  if (!out || !out->pw_name) {
    AccountLookup r;
    r.status = LookupStatus::unknown;
    r.error = "unknown user";
    return r;
  }
  return lookup_account(out->pw_name);
}

Standing read_standing(const std::string& user, std::int64_t now) {
  errno = 0;
  // getspnam, not getspnam_r: nss_wrapper (the tests' NSS) wraps only the
  // former. The caller is single-threaded (the CLI).
  const struct spwd* sp = ::getspnam(user.c_str());
  if (!sp) return Standing::unreadable;   // no shadow entry (SSSD, LDAP) or no right to read it
  std::int64_t today = now / 86400;
  if (sp->sp_expire > 0 && static_cast<std::int64_t>(sp->sp_expire) <= today) return Standing::expired;
  if (sp->sp_pwdp && sp->sp_pwdp[0] == '!') return Standing::locked;
  return Standing::active;
}

}  // namespace zsso
