// SPDX-License-Identifier: BSD-3-Clause
// A small client for Zendesk's Support REST API (users), for `sync`.
//
// Follows developer.zendesk.com's documentation: API token authentication is
// "Authorization: Basic base64(EMAIL/token:TOKEN)", OAuth is "Authorization:
// Bearer TOKEN"; lists use cursor pagination (page[size], meta.has_more,
// links.next); a 429 carries Retry-After in seconds. TLS is verified, HTTP/2
// is used where the server offers it, redirects are never followed, and the
// token is sent only to the one origin (https://SUBDOMAIN.zendesk.com, or a
// loopback stand-in in tests).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "http.hpp"
#include "zsso/config.hpp"
#include "zsso/result.hpp"
#include "zsso/secret.hpp"

namespace zsso::cli {

struct ZendeskUser {
  std::int64_t id = 0;
  std::string email;         // "" when null
  std::string external_id;   // "" when null
  std::string role;          // end-user, agent, admin (Zendesk spells end-user with '-' in replies)
  bool suspended = false;
  bool active = true;        // false: deleted
};

struct ApiFailure {
  std::string message;       // one line, never the token
  long status = 0;           // HTTP status, 0 when none came
};

class ZendeskApi {
 public:
  // origin: "https://SUBDOMAIN.zendesk.com" or a checked loopback origin.
  // auth_header: "Authorization: ..." (kept in wiped memory, wiped again in the slist).
  ZendeskApi(std::string origin, const SecureBytes& auth_header);
  ~ZendeskApi();
  ZendeskApi(const ZendeskApi&) = delete;
  ZendeskApi& operator=(const ZendeskApi&) = delete;
  bool ok() const { return curl_ != nullptr && headers_ != nullptr; }

  // Every user, page by page (cursor pagination), in Zendesk's order.
  std::optional<ApiFailure> list_users(const std::function<void(const ZendeskUser&)>& each);
  // PUT /api/v2/users/{id} with {"user": fields}; the user as Zendesk returns it.
  Result<ZendeskUser> update_user(std::int64_t id, const nlohmann::json& fields, ApiFailure& failure);

  // Waits taken on 429 and 5xx, for the summary.
  int retries() const { return retries_; }

 private:
  std::optional<Reply> send(const char* method, const std::string& url, const std::string* body, ApiFailure& failure);
  std::string origin_;
  std::unique_ptr<CURL, CurlDeleter> curl_;
  curl_slist* headers_ = nullptr;
  int retries_ = 0;
};

// "Authorization: Basic base64(EMAIL/token:TOKEN)" or "Authorization: Bearer TOKEN".
SecureBytes api_auth_header(const ApiConfig& api, const Secret& token);

// Parses one user object of a Zendesk reply; nullopt when id is missing.
std::optional<ZendeskUser> user_from_json(const nlohmann::json& j);

}  // namespace zsso::cli
