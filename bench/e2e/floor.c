/* SPDX-License-Identifier: BSD-3-Clause */
/* The floor for bench/e2e: the cheapest CGI there is. One header, nothing
   else, so its cost is Apache + fork/exec + libc start-up alone. */
#include <unistd.h>

int main(void) {
  static const char response[] = "Status: 302\r\n\r\n";
  return write(STDOUT_FILENO, response, sizeof response - 1) == (ssize_t)(sizeof response - 1) ? 0 : 1;
}
