/* SPDX-License-Identifier: BSD-3-Clause */
/* A case-insensitive NSS stand-in for the tests (as SSSD with AD, where
 * "ALICE" and "alice" are one account): nss_wrapper loads it with
 * NSS_WRAPPER_MODULE_SO_PATH and NSS_WRAPPER_MODULE_FN_PREFIX=zssocase, after
 * its own files. getpwnam finds an entry of ZSSO_CASEFOLD_PASSWD (passwd(5)
 * format) whatever the case of the name, and answers with the entry's own
 * spelling, as such a directory does. */
#define _GNU_SOURCE
#include <errno.h>
#include <nss.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static enum nss_status find(const char *name, uid_t uid, int by_name, struct passwd *pw, char *buf, size_t len,
                            int *errnop) {
  const char *path = getenv("ZSSO_CASEFOLD_PASSWD");
  FILE *f = path ? fopen(path, "re") : NULL;
  if (!f) return NSS_STATUS_UNAVAIL;
  enum nss_status rc = NSS_STATUS_NOTFOUND;
  struct passwd *found = NULL;
  while (fgetpwent_r(f, pw, buf, len, &found) == 0) {
    if (by_name ? strcasecmp(found->pw_name, name) == 0 : found->pw_uid == uid) {
      rc = NSS_STATUS_SUCCESS;
      break;
    }
  }
  if (rc != NSS_STATUS_SUCCESS && errno == ERANGE) {
    *errnop = ERANGE;
    rc = NSS_STATUS_TRYAGAIN;
  }
  fclose(f);
  return rc;
}

enum nss_status _nss_zssocase_getpwnam_r(const char *name, struct passwd *pw, char *buf, size_t len, int *errnop) {
  return find(name, 0, 1, pw, buf, len, errnop);
}

enum nss_status _nss_zssocase_getpwuid_r(uid_t uid, struct passwd *pw, char *buf, size_t len, int *errnop) {
  return find(NULL, uid, 0, pw, buf, len, errnop);
}
