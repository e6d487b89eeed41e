/* SPDX-License-Identifier: BSD-3-Clause */
/* The C interface between zendesk-sso.cgi and zendesk-sso-direct.so.
 *
 * Direct mode runs the PAM transaction inside the CGI process (libpam, the
 * service's modules, pam_zendesk.so's signing). Broker mode, the shipped
 * default, needs none of that: the broker does it. So the CGI links neither
 * libpam nor libcrypto (issue 16: they are most of a CGI request's cost),
 * and a direct-mode route dlopen()s this module, which does. Plain C across
 * the boundary: each side carries its own (static, hidden) C++ runtime. */
#ifndef ZSSO_DIRECT_MODULE_H
#define ZSSO_DIRECT_MODULE_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The one exported symbol; a new layout of the structs below gets a new name. */
#define ZSSO_DIRECT_ENTRY "zsso_direct_sign_in_v1"
#define ZSSO_DIRECT_FREE "zsso_direct_free_v1"

struct zsso_direct_request {
  const char* config_path;       /* the CGI's configuration file */
  const char* profile;           /* "" = base configuration */
  const char* client_address;    /* becomes PAM_RHOST */
  const char* request_id;        /* for log lines */
  long long now;                 /* seconds since the epoch */
  int from_session;              /* 1: sign in from session_cookie, no user or password */
  const char* session_cookie;
  const char* user;
  const unsigned char* password; /* password_len bytes; the module copies and wipes its copy */
  size_t password_len;
  int remote_user;               /* 1: the web server authenticated user; skip the password */
};

struct zsso_direct_message {
  int kind;                      /* zsso::broker::Message::Kind */
  char* text;
};

/* Filled by the entry point (malloc'ed strings, NULL when empty), released by ZSSO_DIRECT_FREE. */
struct zsso_direct_answer {
  int status;                    /* zsso::LoginStatus */
  char* token;
  char* detail;                  /* for the log line only */
  char* session;                 /* the browser's new or refreshed session cookie value */
  struct zsso_direct_message* messages;
  size_t message_count;
};

typedef void (*zsso_direct_entry_fn)(const struct zsso_direct_request*, struct zsso_direct_answer*);
typedef void (*zsso_direct_free_fn)(struct zsso_direct_answer*);

#ifdef __cplusplus
}
#endif

#endif
