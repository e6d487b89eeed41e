// SPDX-License-Identifier: BSD-3-Clause
#include "zendesk_api.hpp"

#include <openssl/evp.h>
#include <unistd.h>

#include <cstring>

#include "zsso/text.hpp"

namespace zsso::cli {

namespace {

constexpr int kMaxAttempts = 6;            // per request: 429s and 5xx together
constexpr int kMaxServerErrors = 4;        // of which 5xx (waits of 1, 2, 4 s)
constexpr long kMaxRetryAfter = 600;       // seconds; a longer wait fails the run
constexpr std::size_t kMaxPages = 100000;  // 10 million users at 100 a page

std::string json_text(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

bool transient(long status) { return status == 500 || status == 502 || status == 503 || status == 504; }

// Retry-After in seconds (Zendesk sends integers); -1 when absent or unreadable.
long retry_after(const Reply& r) {
  const std::string* v = r.header("retry-after");
  if (!v || v->empty() || v->size() > 9) return -1;
  long s = 0;
  for (char c : *v) {
    if (c < '0' || c > '9') return -1;
    s = s * 10 + (c - '0');
  }
  return s;
}

std::string describe(long status, const Reply& r) {
  std::string what = "HTTP " + std::to_string(status);
  if (status == 401) what += " (Zendesk refused the credentials: check api.email and the token file)";
  else if (status == 403) what += " (the token's user may not do this: it must be a Zendesk admin)";
  else if (status == 404) what += " (no such user, or not the Zendesk API at this address)";
  else if (status == 429) what += " (rate limited)";
  // Zendesk's error bodies are JSON {"error": ..., "description": ...}; a short excerpt helps.
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  if (j.is_object()) {
    std::string d = json_text(j, "description");
    if (d.empty()) d = json_text(j, "error");
    if (!d.empty()) what += ": " + quote_for_log(d, 160);
  }
  return what;
}

}  // namespace

SecureBytes api_auth_header(const ApiConfig& api, const Secret& token) {
  SecureBytes out;
  auto append = [&out](std::string_view s) { out.insert(out.end(), s.begin(), s.end()); };
  if (!api.oauth_token_file.empty()) {
    append("Authorization: Bearer ");
    append(token.view());
    return out;
  }
  SecureBytes plain;
  auto add = [&plain](std::string_view s) { plain.insert(plain.end(), s.begin(), s.end()); };
  add(api.email);
  add("/token:");
  add(token.view());
  SecureBytes b64(4 * ((plain.size() + 2) / 3) + 1);
  int n = EVP_EncodeBlock(b64.data(), plain.data(), static_cast<int>(plain.size()));
  append("Authorization: Basic ");
  out.insert(out.end(), b64.begin(), b64.begin() + n);
  return out;
}

std::optional<ZendeskUser> user_from_json(const nlohmann::json& j) {
  if (!j.is_object()) return std::nullopt;
  auto id = j.find("id");
  if (id == j.end() || !id->is_number_integer()) return std::nullopt;
  ZendeskUser u;
  u.id = id->get<std::int64_t>();
  u.email = json_text(j, "email");
  u.external_id = json_text(j, "external_id");
  u.role = json_text(j, "role");
  if (auto s = j.find("suspended"); s != j.end() && s->is_boolean()) u.suspended = s->get<bool>();
  if (auto a = j.find("active"); a != j.end() && a->is_boolean()) u.active = a->get<bool>();
  return u;
}

ZendeskApi::ZendeskApi(std::string origin, const SecureBytes& auth_header)
    : origin_(std::move(origin)), curl_(curl_easy_init()) {
  if (!curl_) return;
  std::string header(reinterpret_cast<const char*>(auth_header.data()), auth_header.size());
  headers_ = curl_slist_append(nullptr, header.c_str());
  secure_wipe(header.data(), header.size());
  if (headers_) headers_ = curl_slist_append(headers_, "Accept: application/json");
  if (headers_) headers_ = curl_slist_append(headers_, "Content-Type: application/json");
  CURL* c = curl_.get();
  bool loopback_http = origin_.rfind("http://", 0) == 0;   // only a checked loopback override is http
  set_up_handle(c, {.user_agent = "zendesk-sso-sync/1", .protocols = loopback_http ? "http" : "https",
                    .timeout_s = 60, .connect_timeout_s = 10});
  curl_easy_setopt(c, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_2TLS));
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers_);
}

ZendeskApi::~ZendeskApi() {
  for (curl_slist* h = headers_; h; h = h->next)
    if (h->data) secure_wipe(h->data, std::strlen(h->data));
  curl_slist_free_all(headers_);
}

std::optional<Reply> ZendeskApi::send(const char* method, const std::string& url, const std::string* body,
                                      ApiFailure& failure) {
  CURL* c = curl_.get();
  int server_errors = 0;
  for (int attempt = 1;; ++attempt) {
    Reply r;
    r.max_body = 16u << 20;   // a page of 100 users with all their fields
    std::string error;
    CURLcode rc = perform_request(c, url, body ? method : nullptr, body, r, error);
    long wait = -1;
    if (rc != CURLE_OK) {
      failure = {std::string(method) + " " + url + ": " + error, 0};
      // Connection trouble may pass; a TLS verification failure will not.
      bool network = rc == CURLE_COULDNT_CONNECT || rc == CURLE_OPERATION_TIMEDOUT || rc == CURLE_RECV_ERROR ||
                     rc == CURLE_SEND_ERROR || rc == CURLE_GOT_NOTHING || rc == CURLE_COULDNT_RESOLVE_HOST;
      if (!network || attempt >= 3) return std::nullopt;
      wait = 1L << (attempt - 1);
    } else {
      if (r.status == 429) {
        wait = retry_after(r);
        if (wait < 0) wait = 60;   // no usable Retry-After: a minute, Zendesk's rate limit window
        if (wait > kMaxRetryAfter) {
          failure = {std::string(method) + " " + url + ": HTTP 429 with Retry-After " + std::to_string(wait) +
                         " s, longer than " + std::to_string(kMaxRetryAfter) + " s; run again later",
                     429};
          return std::nullopt;
        }
      } else if (transient(r.status)) {
        wait = retry_after(r);
        if (wait < 0 || wait > 60) wait = 1L << (attempt - 1);
      } else {
        return r;
      }
      failure = {std::string(method) + " " + url + ": " + describe(r.status, r), r.status};
      if (r.status != 429 && ++server_errors >= kMaxServerErrors) return std::nullopt;
      if (attempt >= kMaxAttempts) return std::nullopt;
    }
    ++retries_;
    ::sleep(static_cast<unsigned>(wait));
  }
}

std::optional<ApiFailure> ZendeskApi::list_users(const std::function<void(const ZendeskUser&)>& each) {
  // page[size] selects cursor pagination; 100 is the documented maximum.
  std::string url = origin_ + "/api/v2/users.json?page%5Bsize%5D=100";
  for (std::size_t page = 0; page < kMaxPages; ++page) {
    ApiFailure failure;
    auto r = send("GET", url, nullptr, failure);
    if (!r) return failure;
    if (r->status != 200) return ApiFailure{"GET " + url + ": " + describe(r->status, *r), r->status};
    auto j = nlohmann::json::parse(r->body, nullptr, false);
    if (!j.is_object() || !j.contains("users") || !j["users"].is_array())
      return ApiFailure{"GET " + url + ": the reply is not a users list", r->status};
    for (const auto& u : j["users"])
      if (auto user = user_from_json(u)) each(*user);
    bool more = false;
    if (auto m = j.find("meta"); m != j.end() && m->is_object())
      if (auto h = m->find("has_more"); h != m->end() && h->is_boolean()) more = h->get<bool>();
    if (!more) return std::nullopt;
    std::string next;
    if (auto l = j.find("links"); l != j.end() && l->is_object()) next = json_text(*l, "next");
    // The token goes to our origin only, whatever a reply says.
    if (next.rfind(origin_ + "/api/v2/users", 0) != 0)
      return ApiFailure{"GET " + url + ": meta.has_more is true but links.next " + quote_for_log(next) +
                            " is not on " + origin_,
                        r->status};
    url = next;
  }
  return ApiFailure{"more than " + std::to_string(kMaxPages) + " pages of users; stopped", 0};
}

Result<ZendeskUser> ZendeskApi::update_user(std::int64_t id, const nlohmann::json& fields, ApiFailure& failure) {
  std::string url = origin_ + "/api/v2/users/" + std::to_string(id) + ".json";
  std::string body = nlohmann::json{{"user", fields}}.dump();
  auto r = send("PUT", url, &body, failure);
  if (!r) return Error{failure.message};
  if (r->status != 200) {
    failure = {"PUT " + url + ": " + describe(r->status, *r), r->status};
    return Error{failure.message};
  }
  auto j = nlohmann::json::parse(r->body, nullptr, false);
  std::optional<ZendeskUser> u;
  if (j.is_object() && j.contains("user")) u = user_from_json(j["user"]);
  if (!u) {
    failure = {"PUT " + url + ": the reply is not a user", r->status};
    return Error{failure.message};
  }
  return *u;
}

}  // namespace zsso::cli
