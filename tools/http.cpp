// SPDX-License-Identifier: BSD-3-Clause
#include "http.hpp"

#include "zsso/text.hpp"

namespace zsso::cli {

std::size_t on_body(char* p, std::size_t size, std::size_t n, void* out) {
  auto* r = static_cast<Reply*>(out);
  if (r->body.size() + size * n > r->max_body) return 0;
  r->body.append(p, size * n);
  return size * n;
}

std::size_t on_header(char* p, std::size_t size, std::size_t n, void* out) {
  auto* r = static_cast<Reply*>(out);
  std::string_view line(p, size * n);
  if (line.rfind("HTTP/", 0) == 0) r->headers.clear();   // a new response (after 100 Continue)
  auto colon = line.find(':');
  if (colon != std::string_view::npos)
    r->headers.emplace_back(ascii_lower(trim(line.substr(0, colon))), std::string(trim(line.substr(colon + 1))));
  return size * n;
}

void set_up_handle(CURL* c, const HandleOptions& o) {
  if (o.no_proxy) {
    curl_easy_setopt(c, CURLOPT_PROXY, "");
    curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
  }
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, o.protocols);
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  if (o.connect_timeout_s > 0) curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, o.connect_timeout_s);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, o.timeout_s);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);   // a timeout never raises SIGALRM in the CLI
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, o.verify_tls ? 1L : 0L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, o.verify_tls ? 2L : 0L);
  curl_easy_setopt(c, CURLOPT_USERAGENT, o.user_agent);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
}

bool from_our_cgi(const Reply& r) {
  const std::string* csp = r.header("content-security-policy");
  return csp && csp->find("default-src 'none'") != std::string::npos &&
         csp->find("frame-ancestors 'none'") != std::string::npos;
}

CURLcode perform_request(CURL* c, const std::string& url, const char* method, const std::string* body, Reply& r,
                         std::string& error) {
  char errbuf[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &r);
  if (method && body) {
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, std::string_view(method) == "POST" ? nullptr : method);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body->c_str());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(body->size()));
  } else {
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, nullptr);
    curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
  }
  CURLcode rc = curl_easy_perform(c);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, nullptr);
  if (rc != CURLE_OK) {
    error = *errbuf ? errbuf : curl_easy_strerror(rc);
    return rc;
  }
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
  char* eff = nullptr;
  curl_easy_getinfo(c, CURLINFO_EFFECTIVE_URL, &eff);
  if (eff) r.effective_url = eff;
  return rc;
}

}  // namespace zsso::cli
