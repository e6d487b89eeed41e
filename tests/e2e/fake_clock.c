// SPDX-License-Identifier: BSD-3-Clause
// Test-only, never installed: LD_PRELOADed into zendesk-sso and
// zendesk-sso.cgi so that a test decides what the kernel says about the
// clock's synchronisation (issue 24.3), in both states, on any host. The
// shipped binaries read no variable for it: the seam is this library.
//
// ZSSO_FAKE_CLOCK_FILE names a file holding "synchronised", "unsynchronised"
// or "unreadable" (EPERM, as under a seccomp filter); it is read on every
// call, so one running web server serves each state in turn. Unset: the
// real call. Only reads (modes 0) are faked; anything else is refused.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timex.h>

static int real_ntp_adjtime(struct timex* tx) {
  int (*real)(struct timex*) = (int (*)(struct timex*))dlsym(RTLD_NEXT, "ntp_adjtime");
  if (!real) {
    errno = ENOSYS;
    return -1;
  }
  return real(tx);
}

int ntp_adjtime(struct timex* tx) {
  const char* path = getenv("ZSSO_FAKE_CLOCK_FILE");
  if (!path) return real_ntp_adjtime(tx);
  if (tx->modes != 0) {
    errno = EPERM;
    return -1;
  }
  char state[32] = "";
  FILE* f = fopen(path, "r");
  if (f) {
    if (!fgets(state, sizeof state, f)) state[0] = '\0';
    fclose(f);
  }
  state[strcspn(state, "\n")] = '\0';
  memset(tx, 0, sizeof *tx);
  if (strcmp(state, "synchronised") == 0) {
    tx->status = STA_PLL;     // what chrony or systemd-timesyncd leave
    tx->maxerror = 50000;     // microseconds
    return TIME_OK;
  }
  if (strcmp(state, "unsynchronised") == 0) {
    tx->status = STA_UNSYNC;  // what the kernel says with no NTP client
    tx->maxerror = 16000000;
    return TIME_ERROR;
  }
  errno = EPERM;              // "unreadable", or a state file that is not there
  return -1;
}

int adjtimex(struct timex* tx) { return ntp_adjtime(tx); }
