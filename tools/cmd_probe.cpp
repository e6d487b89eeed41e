// SPDX-License-Identifier: BSD-3-Clause
// probe: drive a deployment's login like a browser (libcurl), step by step,
// and check the token that comes back against the configured secret. The
// token is never sent on to Zendesk: that would use up its jti and sign the
// user in.
#include <curl/curl.h>
#include <termios.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli.hpp"
#include "http.hpp"
#include "zsso/jwt.hpp"
#include "zsso/secret.hpp"
#include "zsso/text.hpp"
#include "zsso/zendesk.hpp"

namespace zsso::cli {

namespace {

// Turns terminal echo off while the password is typed.
class NoEcho {
 public:
  NoEcho() {
    if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &saved_) != 0) return;
    termios quiet = saved_;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    active_ = tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) == 0;
  }
  ~NoEcho() {
    if (active_) {
      tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_);
      std::fputc('\n', stderr);
    }
  }
  NoEcho(const NoEcho&) = delete;
  NoEcho& operator=(const NoEcho&) = delete;

 private:
  termios saved_{};
  bool active_ = false;
};

std::string html_unescape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '&') { out += s[i]; continue; }
    bool done = false;
    for (auto [ent, ch] : {std::pair{"&amp;", '&'}, std::pair{"&lt;", '<'}, std::pair{"&gt;", '>'},
                           std::pair{"&quot;", '"'}, std::pair{"&#39;", '\''}}) {
      std::string_view e = ent;
      if (s.substr(i, e.size()) == e) { out += ch; i += e.size() - 1; done = true; break; }
    }
    if (!done) out += '&';
  }
  return out;
}

// value="..." of the input named name inside html (the CGI's own markup).
std::optional<std::string> input_value(std::string_view html, std::string_view name) {
  std::string key = "name=\"" + std::string(name) + "\" value=\"";
  auto at = html.find(key);
  if (at == std::string_view::npos) return std::nullopt;
  auto start = at + key.size();
  auto end = html.find('"', start);
  if (end == std::string_view::npos) return std::nullopt;
  return html_unescape(html.substr(start, end - start));
}

std::optional<std::string> attribute_after(std::string_view html, std::string_view marker, std::string_view attr) {
  auto at = html.find(marker);
  if (at == std::string_view::npos) return std::nullopt;
  std::string key = std::string(attr) + "=\"";
  auto a = html.find(key, at);
  if (a == std::string_view::npos) return std::nullopt;
  auto start = a + key.size();
  auto end = html.find('"', start);
  if (end == std::string_view::npos) return std::nullopt;
  return html_unescape(html.substr(start, end - start));
}

std::string request_id(std::string_view html) {
  constexpr std::string_view key = "Request id: <code>";
  auto at = html.find(key);
  if (at == std::string_view::npos) return {};
  auto end = html.find('<', at + key.size());
  return std::string(html.substr(at + key.size(), end - at - key.size()));
}

class Browser {
 public:
  explicit Browser(const std::string* cacert) : curl_(curl_easy_init()) {
    if (!curl_) return;
    CURL* c = curl_.get();
    set_up_handle(c, {.user_agent = "zendesk-sso-probe/1", .protocols = "http,https", .timeout_s = 30});
    curl_easy_setopt(c, CURLOPT_COOKIEFILE, "");   // the cookie engine, in memory only
    if (cacert) curl_easy_setopt(c, CURLOPT_CAINFO, cacert->c_str());
  }
  bool ok() const { return curl_ != nullptr; }

  std::optional<Reply> get(const std::string& url) { return perform(url, nullptr); }
  std::optional<Reply> post(const std::string& url, const std::string& body) { return perform(url, &body); }

  std::string escape(std::string_view s) {
    char* e = curl_easy_escape(curl_.get(), s.data(), static_cast<int>(s.size()));
    if (!e) return {};
    std::string out(e);
    secure_wipe(e, out.size());
    curl_free(e);
    return out;
  }
  const std::string& error() const { return error_; }
  CURLcode code() const { return code_; }

 private:
  std::optional<Reply> perform(const std::string& url, const std::string* body) {
    Reply r;
    code_ = perform_request(curl_.get(), url, body ? "POST" : nullptr, body, r, error_);
    if (code_ != CURLE_OK) return std::nullopt;
    return r;
  }

  std::unique_ptr<CURL, CurlDeleter> curl_;
  std::string error_;
  CURLcode code_ = CURLE_OK;
};

bool is_certificate_error(CURLcode rc) {
  return rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE || rc == CURLE_SSL_ISSUER_ERROR;
}

// The server's certificate as it is, read by a second connection that
// verifies nothing and sends nothing (CONNECT_ONLY): what it is for
// ("Subject", the "Subject Alternative Name" entries) and who signed it.
struct CertificateNames {
  std::string subject, issuer;
  std::vector<std::string> dns;   // DNS: and IP Address: entries, as written
};

std::optional<CertificateNames> peer_certificate(const std::string& url) {
  std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
  if (!curl) return std::nullopt;
  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_CONNECT_ONLY, 1L);
  curl_easy_setopt(c, CURLOPT_CERTINFO, 1L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
  if (curl_easy_perform(c) != CURLE_OK) return std::nullopt;
  curl_certinfo* info = nullptr;
  if (curl_easy_getinfo(c, CURLINFO_CERTINFO, &info) != CURLE_OK || !info || info->num_of_certs < 1) return std::nullopt;
  CertificateNames out;
  for (curl_slist* e = info->certinfo[0]; e; e = e->next) {
    std::string_view line = e->data;
    auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view key = line.substr(0, colon), value = trim(line.substr(colon + 1));
    if (key == "Subject") out.subject = value;
    else if (key == "Issuer") out.issuer = value;
    else if (key == "X509v3 Subject Alternative Name")
      for (std::size_t start = 0; start < value.size();) {
        std::size_t comma = std::min(value.find(',', start), value.size());
        out.dns.emplace_back(trim(value.substr(start, comma - start)));
        start = comma + 1;
      }
  }
  return out;
}

std::optional<std::string> url_host(const std::string& url) {
  std::unique_ptr<CURLU, CurlUrlDeleter> u(curl_url());
  char* host = nullptr;
  if (!u || curl_url_set(u.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK ||
      curl_url_get(u.get(), CURLUPART_HOST, &host, 0) != CURLUE_OK)
    return std::nullopt;
  std::string out(host);
  curl_free(host);
  return out;
}

std::optional<std::string> with_host(const std::string& url, const std::string& host) {
  std::unique_ptr<CURLU, CurlUrlDeleter> u(curl_url());
  char* out = nullptr;
  if (!u || curl_url_set(u.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK ||
      curl_url_set(u.get(), CURLUPART_HOST, host.c_str(), 0) != CURLUE_OK ||
      curl_url_get(u.get(), CURLUPART_URL, &out, 0) != CURLUE_OK)
    return std::nullopt;
  std::string s(out);
  curl_free(out);
  return s;
}

// A TLS failure, with what the certificate is for and the two ways out: the
// host name it holds, and --cacert for a certificate no system CA signed
// (Debian's default-ssl serves the self-signed ssl-cert-snakeoil.pem).
std::string describe_tls_failure(const std::string& url, const std::string& error, bool have_cacert) {
  std::string out = "GET " + url + ": " + error;
  auto cert = peer_certificate(url);
  if (!cert) return out;
  std::string names;
  for (const auto& n : cert->dns) names += (names.empty() ? "" : ", ") + n;
  out += "\n  the server's certificate: subject " + (cert->subject.empty() ? "(none)" : cert->subject) +
         (names.empty() ? "" : "; names " + names) + "; issuer " +
         (cert->issuer == cert->subject ? "itself (self-signed)" : cert->issuer);
  auto host = url_host(url);
  std::string first_dns;
  bool holds_host = false;
  for (const auto& n : cert->dns) {
    if (n.rfind("DNS:", 0) == 0 && first_dns.empty() && n.find('*') == std::string::npos) first_dns = n.substr(4);
    if (host && (n == "DNS:" + *host || n == "IP Address:" + *host)) holds_host = true;
  }
  if (host && !holds_host && !first_dns.empty())
    if (auto better = with_host(url, first_dns)) out += "\n  fix: use the name the certificate holds: " + *better;
  if (!have_cacert)
    out += "\n  fix: give probe the certificate (or its CA) with --cacert FILE; for Debian's default-ssl: "
           "--cacert /etc/ssl/certs/ssl-cert-snakeoil.pem";
  else if (holds_host)
    out += "\n  fix: the --cacert file does not vouch for this certificate: give the certificate itself or its CA";
  return out;
}

// base resolved against a relative reference (the form's action).
std::optional<std::string> resolve(const std::string& base, const std::string& ref) {
  std::unique_ptr<CURLU, CurlUrlDeleter> u(curl_url());
  if (!u || curl_url_set(u.get(), CURLUPART_URL, base.c_str(), 0) != CURLUE_OK) return std::nullopt;
  if (curl_url_set(u.get(), CURLUPART_URL, ref.c_str(), 0) != CURLUE_OK) return std::nullopt;
  char* out = nullptr;
  if (curl_url_get(u.get(), CURLUPART_URL, &out, 0) != CURLUE_OK) return std::nullopt;
  std::string s(out);
  curl_free(out);
  return s;
}

// The value of key in a URL's query string (percent-decoded by libcurl).
std::optional<std::string> query_value(const std::string& url, std::string_view key) {
  std::unique_ptr<CURLU, CurlUrlDeleter> u(curl_url());
  if (!u || curl_url_set(u.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK) return std::nullopt;
  char* q = nullptr;
  if (curl_url_get(u.get(), CURLUPART_QUERY, &q, 0) != CURLUE_OK) return std::nullopt;
  std::string query(q);
  curl_free(q);
  std::string prefix = std::string(key) + "=";
  std::string_view rest = query;
  while (!rest.empty()) {
    auto amp = rest.find('&');
    std::string_view part = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view{} : rest.substr(amp + 1);
    if (part.rfind(prefix, 0) == 0) {
      std::string v(part.substr(prefix.size()));
      int n = 0;
      char* d = curl_easy_unescape(nullptr, v.c_str(), static_cast<int>(v.size()), &n);
      if (!d) return std::nullopt;
      std::string out(d, static_cast<std::size_t>(n));
      curl_free(d);
      return out;
    }
  }
  return std::nullopt;
}

void step(int n, const std::string& text) { std::printf("  [%d] %s\n", n, text.c_str()); }

int fail(const std::string& why, const Reply* r = nullptr) {
  std::string rid = r ? request_id(r->body) : std::string();
  std::printf("FAILED: %s%s\n", why.c_str(), rid.empty() ? "" : (" (request id " + rid + " in the helper's log)").c_str());
  return kFail;
}

std::string missing_security_headers(const Reply& r) {
  std::string missing;
  auto want = [&](const char* name, std::string_view contains) {
    const std::string* v = r.header(name);
    if (!v || v->find(contains) == std::string::npos) missing += std::string(missing.empty() ? "" : ", ") + name;
  };
  want("cache-control", "no-store");
  want("content-security-policy", "default-src 'none'");
  want("x-content-type-options", "nosniff");
  want("referrer-policy", "no-referrer");
  return missing;
}

// A 403 has three causes; which step answered it, and whether the page
// offers the form again, tell them apart (not the page's wording).
std::string describe_forbidden(bool after_post, const Reply& r) {
  if (!after_post)
    return "403 at the form: this client's address is outside network.ip_ranges (as the helper sees it: "
           "REMOTE_ADDR, or X-Forwarded-For from a network.trusted_proxies entry); try zendesk-sso ip-test ADDR";
  if (r.body.find("name=\"password\"") != std::string::npos)
    return "403 after the password: the account may not sign in (pam_acct_mgmt: access.allowed_groups/"
           "denied_groups, min_uid, an expired or locked account, or ip_ranges in pam_zendesk.so)";
  return "403 after the password: the form was refused as cross-site or its token (CSRF) was: cookie lost, "
         "form older than 10 minutes, or a proxy that rewrites the Host or Origin header";
}

std::string describe_refusal(long status) {
  switch (status) {
    case 400: return "400: the helper could not understand the request";
    case 401: return "401: wrong user name or password (or the account is unknown)";
    case 404: return "404: no such page (is the URL the helper's /login, and the profile name right?)";
    case 429: return "429: too many sign-ins from this address or for this account at once (the broker's shares: "
                     "broker.max_sign_ins_per_address and the like); wait for them to end";
    case 500: return "500: the helper is misconfigured (config or secret file)";
    case 503: return "503: sign-in unavailable (PAM service, broker or token minting failed)";
    default: return std::to_string(status) + ": unexpected answer";
  }
}

// A refusal: the CGI's own page, or the web server's when the CGI never ran.
std::string describe_answer(const Reply& r) {
  if (r.status == 503 && !from_our_cgi(r))
    return "503 from the web server, not from the CGI: the web server could not run the CGI: see its error log "
           "(Apache: /var/log/apache2/error.log; after a2enmod cgid, systemctl restart apache2: a reload does not "
           "start mod_cgid's daemon)";
  return describe_refusal(r.status);
}

// The text inside <label for="id">…</label>, tags dropped, unescaped.
std::string label_for(std::string_view html, std::string_view id) {
  std::string key = "<label for=\"" + std::string(id) + "\">";
  auto at = html.find(key);
  if (at == std::string_view::npos) return std::string(id);
  auto end = html.find("</label>", at);
  std::string_view inner = html.substr(at + key.size(), end == std::string_view::npos ? 0 : end - at - key.size());
  std::string text;
  bool in_tag = false;
  for (char ch : inner) {
    if (ch == '<') in_tag = true;
    else if (ch == '>') in_tag = false;
    else if (!in_tag) text += ch;
  }
  return html_unescape(text);
}

// A prompt page of a multi-step sign-in (second factor, new password): its
// fields answer0, answer1… and the hidden ones that carry the conversation.
struct PromptPage {
  std::vector<std::pair<std::string, std::string>> prompts;   // field, label
  std::vector<std::pair<std::string, std::string>> hidden;
  std::string action;
};

std::optional<PromptPage> prompt_page(const std::string& html) {
  if (html.find("name=\"conversation\"") == std::string::npos) return std::nullopt;
  PromptPage p;
  auto action = attribute_after(html, "<form method=\"post\"", "action");
  if (!action) return std::nullopt;
  p.action = *action;
  for (int k = 0;; ++k) {
    std::string id = "answer" + std::to_string(k);
    if (html.find("name=\"" + id + "\"") == std::string::npos) break;
    p.prompts.emplace_back(id, label_for(html, id));
  }
  constexpr std::string_view key = "<input type=\"hidden\" name=\"";
  for (auto at = html.find(key); at != std::string::npos; at = html.find(key, at + 1)) {
    auto start = at + key.size();
    auto end = html.find('"', start);
    if (end == std::string::npos) break;
    std::string name = html.substr(start, end - start);
    if (auto v = input_value(html, name)) p.hidden.emplace_back(html_unescape(name), *v);
  }
  return p;
}

// One line of stdin (a terminal is asked, without echo for a secret);
// false when stdin has no line left.
bool read_answer(const std::string& prompt, bool secret, WipedString& out) {
  if (isatty(STDIN_FILENO)) std::fprintf(stderr, "%s", prompt.c_str());
  std::optional<NoEcho> quiet;
  if (secret) quiet.emplace();
  if (!std::getline(std::cin, out.s)) return false;
  if (!out.s.empty() && out.s.back() == '\r') out.s.pop_back();
  return true;
}

}  // namespace

int cmd_probe(const Context& ctx) {
  auto args = parse_args(ctx.args, {"--user", "--return-to", "--cacert"}, {});
  if (!args) return kUsage;
  const std::string* user = args->get("--user");
  if (args->positional.size() != 1 || !user || user->empty()) {
    std::fprintf(stderr, "zendesk-sso: usage: probe URL --user USER [--return-to URL] [--cacert FILE]  "
                         "(password on stdin)\n");
    return kUsage;
  }
  std::string url = args->positional[0];
  if (url.rfind("https://", 0) != 0 && url.rfind("http://", 0) != 0) {
    std::fprintf(stderr, "zendesk-sso: probe: %s must be an http(s) URL (the helper's /login)\n", url.c_str());
    return kUsage;
  }
  auto cfg = load_or_report(ctx);
  if (!cfg) return kUsage;
  auto secret = load_secret_or_report(*cfg);
  if (!secret) return kUsage;

  WipedString password;
  read_answer("Password for " + *user + ": ", true, password);
  if (password.s.empty()) {
    std::fprintf(stderr, "zendesk-sso: probe: no password on stdin\n");
    return kUsage;
  }

  CurlGlobal global;
  Browser browser(args->get("--cacert"));
  if (!global.ok || !browser.ok()) {
    std::fprintf(stderr, "zendesk-sso: probe: libcurl did not start\n");
    return kUsage;
  }
  if (const auto* rt = args->get("--return-to"))
    url += std::string(url.find('?') == std::string::npos ? "?" : "&") + "return_to=" + browser.escape(*rt);
  std::printf("probe %s as %s\n", url.c_str(), user->c_str());
  if (url.rfind("http://", 0) == 0) {
    // Loopback is a test; anything else sends passwords in clear, and Zendesk wants an https remote login URL.
    std::string host = url.substr(7, url.find_first_of("/?#", 7) - 7);
    bool loopback = host.rfind("127.", 0) == 0 || host.rfind("localhost", 0) == 0 || host.rfind("[::1]", 0) == 0;
    if (loopback)
      std::printf("  note: plain http on loopback; a deployment must use https\n");
    else
      std::fprintf(stderr, "warning: %s is plain HTTP: passwords would cross the network in clear, and Zendesk's "
                           "remote login URL must be https:// (admin guide, section 4, \"HTTPS\")\n", url.c_str());
  }

  // 1. The sign-in form (or, in REMOTE_USER mode, the token straight away).
  auto form = browser.get(url);
  if (!form && is_certificate_error(browser.code()))
    return fail(describe_tls_failure(url, browser.error(), args->has("--cacert")));
  if (!form) return fail("GET " + url + ": " + browser.error());
  if (form->status == 403) return fail("GET " + describe_forbidden(false, *form), &*form);
  if (form->status != 200) return fail("GET " + describe_answer(*form), &*form);
  std::string missing = missing_security_headers(*form);
  if (!missing.empty()) std::printf("  warning: missing security headers: %s\n", missing.c_str());
  Reply delivery;
  int n = 1;   // the last step printed
  if (form->body.find("<form id=\"zendesk-sso\"") != std::string::npos) {
    step(1, "GET " + std::to_string(form->status) + ": signed in by the web server (REMOTE_USER), no form");
    delivery = std::move(*form);
  } else {
    auto csrf = input_value(form->body, "csrf");
    auto action = attribute_after(form->body, "<form method=\"post\"", "action");
    if (!csrf || !action) return fail("GET 200 but no sign-in form in the page", &*form);
    step(1, "GET 200: sign-in form with a CSRF token" + std::string(missing.empty() ? ", security headers present" : ""));

    // 2. Post the credentials the way the form does.
    auto target = resolve(form->effective_url.empty() ? url : form->effective_url, *action);
    if (!target) return fail("form action " + quote_for_log(*action) + " is not a URL");
    WipedString body;
    body.s = "user=" + browser.escape(*user) + "&password=" + browser.escape(password.s) + "&csrf=" +
             browser.escape(*csrf);
    if (auto rt = input_value(form->body, "return_to")) body.s += "&return_to=" + browser.escape(*rt);
    auto posted = browser.post(*target, body.s);
    if (!posted) return fail("POST " + *target + ": " + browser.error());
    if (posted->status == 403) return fail("POST " + describe_forbidden(true, *posted), &*posted);
    if (posted->status != 200 && posted->status != 302)
      return fail("POST " + describe_answer(*posted), &*posted);
    step(2, "POST " + std::to_string(posted->status) +
                (prompt_page(posted->body) ? ": password taken, the stack asks more" : ": credentials accepted"));
    // A multi-step stack (a one-time code, a new password) asks more, one
    // page at a time: each answer is the next line of stdin.
    n = 2;
    int line = 1;
    while (posted->status == 200) {
      auto page = prompt_page(posted->body);
      if (!page) break;
      if (++n > 12) return fail("the stack asked more than 10 pages of questions", &*posted);
      WipedString answers;
      for (const auto& [name, value] : page->hidden) answers.s += (answers.s.empty() ? "" : "&") + name + "=" + browser.escape(value);
      std::string asked;
      for (const auto& [field, label] : page->prompts) {
        asked += (asked.empty() ? "" : ", ") + quote_for_log(label);
        WipedString answer;
        bool secret = posted->body.find("name=\"" + field + "\" type=\"password\"") != std::string::npos;
        if (!read_answer(label + " ", secret, answer))
          return fail("the PAM stack asked " + quote_for_log(label) + " after " +
                      (line == 1 ? std::string("the password") : "answer " + std::to_string(line - 1)) +
                      ", and stdin has no line " + std::to_string(line + 1) +
                      ": give each further answer on its own line after the password (e.g. the one-time code)");
        ++line;
        answers.s += "&" + field + "=" + browser.escape(answer.s);
      }
      auto target = resolve(posted->effective_url.empty() ? url : posted->effective_url, page->action);
      if (!target) return fail("form action " + quote_for_log(page->action) + " is not a URL");
      auto next = browser.post(*target, answers.s);
      if (!next) return fail("POST " + *target + ": " + browser.error());
      if (next->status == 403) return fail("POST " + describe_forbidden(true, *next), &*next);
      if (next->status == 401)
        return fail("POST 401 after the stack asked " + asked + ": refused (a wrong or already used code, or an "
                    "earlier answer that the stack checks only now)", &*next);
      if (next->status != 200 && next->status != 302)
        return fail("POST " + describe_answer(*next) + " (after the stack asked " + asked + ")", &*next);
      step(n, "POST " + std::to_string(next->status) + ": the stack asked " + asked + ", answered from stdin");
      posted = std::move(next);
    }
    delivery = std::move(*posted);
  }

  // 3. Where the token would go, and the token itself.
  std::string token, endpoint, return_to;
  if (delivery.status == 302) {
    const std::string* loc = delivery.header("location");
    if (!loc) return fail("302 without a Location");
    auto t = query_value(*loc, "jwt");
    if (!t) return fail("302 to " + quote_for_log(*loc) + " carries no jwt");
    token = *t;
    endpoint = loc->substr(0, loc->find('?'));
    return_to = query_value(*loc, "return_to").value_or("");
    step(++n, "delivery by GET (legacy) to " + endpoint);
  } else {
    auto t = input_value(delivery.body, "jwt");
    auto action = attribute_after(delivery.body, "<form id=\"zendesk-sso\"", "action");
    if (!t || !action) {
      if (delivery.body.find("name=\"user\"") != std::string::npos && delivery.body.find("name=\"password\"") != std::string::npos)
        return fail("200 but the sign-in form again: the last answer was refused", &delivery);
      return fail("200 but no token form in the page", &delivery);
    }
    token = *t;
    endpoint = *action;
    return_to = input_value(delivery.body, "return_to").value_or("");
    step(++n, "delivery by auto-submitting POST form to " + endpoint);
  }
  if (endpoint != jwt_endpoint(cfg->zendesk))
    std::printf("  warning: the configured endpoint is %s (does the helper use another config?)\n",
                jwt_endpoint(cfg->zendesk).c_str());
  if (!return_to.empty()) std::printf("      return_to %s\n", return_to.c_str());

  Hs256Key key(*secret);
  VerifyOptions opt;
  opt.now = std::time(nullptr);
  auto claims = verify_jwt(token, key, opt);
  if (!claims)
    return fail("the token does not verify with " + cfg->zendesk.secret_file + ": " + claims.error() +
                " (Zendesk would answer \"JWT signature invalid\" or \"Invalid iat\")");
  auto text = [&](const char* k) {
    auto it = claims->find(k);
    return it == claims->end() ? std::string("-") : it->is_string() ? it->get<std::string>() : it->dump();
  };
  step(++n, "token verifies with " + cfg->zendesk.secret_file + ": email " + text("email") + ", name " +
              quote_for_log(text("name")) + ", external_id " + text("external_id") + ", iat " + text("iat"));
  std::printf("ok: sign-in works. The token was not sent to Zendesk (that would use it up).\n");
  return kOk;
}

}  // namespace zsso::cli
