// SPDX-License-Identifier: BSD-3-Clause
// libcurl pieces the CLI's network commands share (probe, sync). Only the
// CLI links libcurl; the CGI and the PAM module never do.
#pragma once

#include <curl/curl.h>

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "zsso/secret.hpp"

namespace zsso::cli {

struct CurlDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct CurlUrlDeleter {
  void operator()(CURLU* u) const { curl_url_cleanup(u); }
};
struct CurlGlobal {
  bool ok = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
  ~CurlGlobal() { curl_global_cleanup(); }
};

// A std::string that is wiped when it goes (the password, the request body).
struct WipedString {
  std::string s;
  ~WipedString() { secure_wipe(s.data(), s.size()); }
};

struct Reply {
  long status = 0;
  std::vector<std::pair<std::string, std::string>> headers;   // names lower case
  std::string body;
  std::string effective_url;
  std::size_t max_body = 1u << 20;                              // a runaway stops here

  const std::string* header(std::string_view name) const {
    for (const auto& [k, v] : headers)
      if (k == name) return &v;
    return nullptr;
  }
};

// How one of the CLI's handles talks: what differs between probe, check's
// /health request and sync's API calls. Redirects are never followed (each
// caller looks at a 302 itself) and replies land in a Reply (on_body,
// on_header).
struct HandleOptions {
  const char* user_agent;             // "zendesk-sso-<command>/1"
  const char* protocols;              // CURLOPT_PROTOCOLS_STR: "https", "http,https"
  long timeout_s;                     // the whole transfer
  long connect_timeout_s = 0;         // 0: libcurl's default
  bool verify_tls = true;             // false only for our own server on loopback (check)
  bool no_proxy = false;              // ignore http_proxy and friends (loopback requests)
};
void set_up_handle(CURL* c, const HandleOptions& o);

// CURLOPT_WRITEFUNCTION / CURLOPT_HEADERFUNCTION with a Reply* as their data.
std::size_t on_body(char* p, std::size_t size, std::size_t n, void* reply);
std::size_t on_header(char* p, std::size_t size, std::size_t n, void* reply);

// Whether the answer is one of zendesk-sso.cgi's own (every one carries its
// Content-Security-Policy), not the web server's error page: a 503 that is
// not ours means the web server could not run the CGI at all.
bool from_our_cgi(const Reply& r);

// One request on c: GET when method is null, else METHOD with body as its
// body (POST by default, PUT through CURLOPT_CUSTOMREQUEST). Fills r (status,
// headers, body, effective URL); on a transfer failure returns its code and
// sets error to curl's message.
CURLcode perform_request(CURL* c, const std::string& url, const char* method, const std::string* body, Reply& r,
                         std::string& error);

}  // namespace zsso::cli
