// SPDX-License-Identifier: BSD-3-Clause
// /etc/zendesk-sso/config.json, schema v1 (see README "Configuration").
// Strict: wrong types and unknown keys are errors naming the key path.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "zsso/cidr.hpp"
#include "zsso/result.hpp"

namespace zsso {

inline constexpr const char* kDefaultConfigPath = "/etc/zendesk-sso/config.json";

enum class Delivery { post, get };
// How decision lines are written (issue 24.2): today's text, or one JSON object a line.
enum class LogFormat { text, json };

struct ZendeskConfig {
  std::string subdomain;                     // acme -> https://acme.zendesk.com/access/jwt
  std::string secret_file = "/etc/zendesk-sso/secret";
  Delivery delivery = Delivery::post;
  std::vector<std::string> return_to_hosts;  // host-mapped / brand hosts, lower case
  std::int64_t exp_seconds = 0;              // 0: no exp claim (Zendesk does not use it)
  // Tests and the demo only, never read from the config file: a loopback
  // stand-in's full endpoint URL that replaces https://SUBDOMAIN.zendesk.com/access/jwt.
  // The CGI sets it from $ZENDESK_SSO_ENDPOINT_OVERRIDE after checking it is loopback.
  std::string endpoint_override;
};

struct NetworkConfig {
  std::vector<std::string> ip_ranges;        // as written, for messages
  CidrSet ranges;                            // empty = everyone
  std::vector<std::string> trusted_proxies_text;
  CidrSet trusted_proxies;
};

struct AccessConfig {
  std::int64_t min_uid = 1000;
  bool allow_root = false;
  std::vector<std::string> allowed_groups;   // empty = any group
  std::vector<std::string> denied_groups;
};

struct ClaimsConfig {
  // Templates: {user} {uid} {gid} {gecos} {home} {group}; "{{" and "}}" are literal braces.
  std::string email = "{user}";
  std::string name = "{gecos}";
  std::optional<std::string> external_id;
  std::optional<std::string> organization;
  std::optional<std::int64_t> organization_id;
  std::vector<std::string> organizations;    // sent comma-joined, replaces the user's list
  std::vector<std::int64_t> organization_ids;
  std::vector<std::string> tags;             // static tags for everyone
  std::vector<std::string> tags_from_groups; // groups that become tags when the user is in them
  std::optional<std::string> role;           // default role
  std::vector<std::pair<std::string, std::string>> role_by_group;  // in file order; first match wins
  std::optional<std::int64_t> custom_role_id;
  std::optional<std::int64_t> locale;        // end users
  std::optional<std::int64_t> locale_id;     // agents
  std::optional<std::string> phone;
  std::optional<std::string> remote_photo_url;
  // Custom field key -> value; string values are templates. Null or empty:
  // none. Behind a pointer so that this header needs only json_fwd.hpp: the
  // whole of nlohmann/json.hpp in every file that includes the config cost
  // about 11 % of the build's compile CPU (BENCHMARKS.md "CI time").
  std::shared_ptr<const nlohmann::ordered_json> user_fields;
};

struct PamConfig {
  std::string service = "zendesk-sso";
};

struct BrokerConfig {
  std::string socket;                        // empty: CGI runs PAM in-process
  std::vector<std::string> allowed_peers;    // user or group names (group: "@name")
  // Multi-step sign-ins: how long a prompt waits for the browser, how long a
  // whole sign-in may take, and how many may run at once.
  std::int64_t prompt_timeout = 120;
  std::int64_t sign_in_deadline = 600;
  std::int64_t max_sign_ins = 64;
  // Guessing from one address: after max_failures failed sign-ins of one
  // account from one client address within failure_window seconds, that
  // pair is refused without PAM for ban_seconds, doubling with each further
  // ban (at most an hour). Others, the account owner among them, are not
  // affected; pam_faillock stays the account-wide ceiling. 0: off.
  std::int64_t max_failures = 5;
  std::int64_t failure_window = 900;
  std::int64_t ban_seconds = 300;
  // A spray of names from one address: after this many failed sign-ins of
  // any accounts from one client address (an IPv6 /64) within failure_window,
  // the address is refused for ban_seconds, doubling likewise. Well above
  // one person's typos (max_failures per account, then a ban). 0: off.
  std::int64_t max_failures_per_address = 30;
  // Every refused password sign-in is answered this many milliseconds after
  // its request arrived, plus a random jitter of up to a quarter of it, the
  // same whatever the reason (issue 22): long enough to cover the slowest
  // password check, so the time of a refusal tells nothing. 0: at once.
  std::int64_t failure_delay_ms = 2000;
  // An expired password is changed on the sign-in pages (pam_chauthtok
  // through the conversation), when helper.password_change_url is empty.
  // Off: the page says the password expired and where to change it. The
  // stack's "password" lines must be able to write (admin guide).
  bool change_expired_passwords = false;
  // Shares of the broker (issue 22.1), kept by the listener, read at start.
  // One client address (an IPv6 /64) runs at most max_sign_ins_per_address
  // sign-ins at once, held conversations included, and holds at most
  // max_conversations_per_address conversations; one account holds at most
  // max_conversations_per_account (with a stack that asks its next step
  // only after a right password, as the shipped ones: people who know the
  // password). The last reserved_sign_ins slots are for new sign-ins and
  // session sign-ins only: no conversation is held in them (-1: an eighth
  // of max_sign_ins). The excess is refused at once ("busy, wait").
  // limits_exempt: addresses that are many people (a NAT, a proxy that is
  // not trusted) are not capped per address.
  std::int64_t max_sign_ins_per_address = 6;
  std::int64_t max_conversations_per_address = 4;
  std::int64_t max_conversations_per_account = 2;
  std::int64_t reserved_sign_ins = -1;
  // At max_sign_ins, a new request waits while sign-ins end; when none has
  // ended for busy_after_seconds (the slots are held by people typing), the
  // waiting requests are answered "busy" at once. Below the CGI's 25 s wait.
  std::int64_t busy_after_seconds = 3;
  std::vector<std::string> limits_exempt_text;
  CidrSet limits_exempt;
  std::int64_t reserved() const { return reserved_sign_ins >= 0 ? reserved_sign_ins : max_sign_ins / 8; }
};

struct HelperConfig {
  bool trust_remote_user = false;
  std::string site_name = "Intranet";
  std::string logout_redirect;
  // Retired (issue 16): the CSRF defence needs no key. Still accepted so old
  // configs load; it has no effect and `zendesk-sso check` says to remove it.
  std::string csrf_key_file;
  // What the user sees (issue 17/18): help contact, language, branding.
  std::string help_contact;                  // text, e.g. "IT service desk, extension 4711"
  std::string help_url;                      // https://, http:// or mailto: link for the contact
  std::string default_language = "en";       // language tag when neither Zendesk nor the browser names one we have
  std::string locale_dir;                    // extra translations (LANG/LC_MESSAGES/zendesk-sso.mo), searched first
  std::vector<std::pair<std::int64_t, std::string>> locale_ids;  // Zendesk locale_id -> language tag (adds to the built-in list)
  std::string logo_file;                     // PNG, JPEG, GIF, WebP or SVG, at most 64 KiB, inlined as a data: URL
  std::string primary_color;                 // "#rrggbb" or "" (the built-in blue)
  std::string banner;                        // sign-in notice ("authorised use only"), shown above the form
  // Where people with an expired password change it ("%u": the user name,
  // URL-encoded). Empty: the page names the help contact instead, or, with
  // broker.change_expired_passwords, the broker asks for the new password.
  std::string password_change_url;
  // GET /health answers every client, not only those inside network.ip_ranges
  // (for load balancers outside them). Its body never says more than ok/unavailable.
  bool health_from_anywhere = false;
};

// Zendesk's REST API, for `zendesk-sso sync` only (nothing else reads it).
struct ApiConfig {
  bool present = false;                      // the file has an "api" section
  // API token authentication: Authorization: Basic base64("EMAIL/token:TOKEN").
  std::string token_file;
  std::string email;                         // the admin the token is used as
  // Or OAuth: Authorization: Bearer TOKEN.
  std::string oauth_token_file;
  // Which Zendesk users are ours (see zendesk-sso.json(5), "api"): their
  // primary email's domain, lower case.
  std::vector<std::string> email_domains;
  bool include_admins = false;               // may sync suspend/downgrade Zendesk admins?
  double max_change_fraction = 0.1;          // safety brake: at most this share of ours per run
};

// Sign-in sessions (issue 13): a signed cookie that lets a browser that
// signed in before skip the form; every use re-runs the account checks.
struct SessionConfig {
  std::int64_t max_seconds = 36000;          // from the password sign-in; 0: sessions off
  std::int64_t idle_seconds = 28800;         // since the session was last used; 0: no idle limit
  std::string key_file;                      // HMAC key; empty: sessions off
  std::string previous_key_file;             // still accepted (rotation grace); a missing file is no key
  bool enabled() const { return max_seconds > 0 && !key_file.empty(); }
};

// Logging ("log"): the format of the audit events every process writes.
struct LogConfig {
  LogFormat format = LogFormat::text;
};

// Prometheus metrics (issue 24.1), served by the CGI at /metrics.
struct MetricsConfig {
  bool enabled = false;                      // /metrics answers (else 404)
  std::vector<std::string> scrapers_text;    // as written
  CidrSet scrapers;                          // who may read /metrics; empty: network.ip_ranges
  // The CGI's own counter file (outside the ranges, CSRF, broker not
  // reached, everything in direct mode): a place the web server user may
  // write. "" : the CGI counts nothing. The broker's file is beside its
  // socket, metrics/broker.
  std::string cgi_file = "/var/lib/zendesk-sso/metrics/cgi";
  // `zendesk-sso sync --apply` records its last run here; the package makes
  // it (root:zendesk-sso 0664) and the sync unit may write it alone
  // (ReadWritePaths=). "" : not recorded.
  std::string sync_file = "/var/lib/zendesk-sso/metrics/sync";
};

// Security keys as a second factor (issue 23, docs/webauthn.md): the broker
// asks for one after the password. Off unless rp_id is set.
struct WebauthnConfig {
  std::string rp_id;                         // the relying party: the sign-in host or a parent domain
  std::vector<std::string> origins;          // the page origins a key may answer ("https://sso.example.com")
  enum class Verification { preferred, required, discouraged };
  Verification user_verification = Verification::preferred;   // required: the key's PIN or biometrics too
  std::vector<std::string> required_groups;  // members without a key are refused
  // pam_u2f's authfile (its side file beside it: authfile + ".json").
  std::string authfile = "/var/lib/zendesk-sso/webauthn/authfile";
  // How someone without a key may enrol a first one on the "Security keys"
  // page (docs/webauthn.md, slice 4). An invite code from `zendesk-sso keys
  // invite` always admits one; second_factor also admits one after another
  // factor of the PAM stack, tofu after the password alone until tofu_until.
  enum class FirstKey { invite, second_factor, tofu };
  FirstKey first_key = FirstKey::invite;
  std::string tofu_until;                    // "YYYY-MM-DD" (UTC, that day included); with tofu only
  // Passkeys without a password (slice 5): a discoverable key with user
  // verification signs in alone; its user handle names the account.
  bool passwordless = false;
  // Enrolment takes only keys of these models (AAGUIDs as FIDO's metadata
  // writes them, "cb69481e-8ff7-4039-93ec-0a2729a154a8"), proven by an x5c
  // attestation; empty: any key. Keys already in the authfile stay.
  std::vector<std::string> aaguids;
  bool enabled() const { return !rp_id.empty(); }
};

// The 16 bytes of an AAGUID written as a UUID (8-4-4-4-12 hex digits, either
// case); nullopt for anything else.
std::optional<std::string> aaguid_bytes(std::string_view uuid);

// The host of an origin as the browser writes it in clientDataJSON (scheme,
// host, an optional port, nothing else); nullopt unless https, or http for
// localhost only: what webauthn.origins accepts.
std::optional<std::string> webauthn_origin_host(std::string_view origin);

// host is rp_id or a name below it: where a key for rp_id may be used.
bool on_rp_id(std::string_view host, std::string_view rp_id);

struct Config {
  std::string source;                        // path it came from, for messages
  std::string profile;                       // resolved profile ("" = base)
  std::vector<std::string> profile_names;    // every profile the file defines
  ZendeskConfig zendesk;
  NetworkConfig network;
  AccessConfig access;
  ClaimsConfig claims;
  PamConfig pam;
  BrokerConfig broker;
  HelperConfig helper;
  ApiConfig api;
  SessionConfig session;
  LogConfig log;
  MetricsConfig metrics;
  WebauthnConfig webauthn;
};

// The broker's counter file: metrics/broker beside its socket.
std::string broker_metrics_file(const std::string& socket_path);

// Parses text (JSON with // and /* */ comments). With a profile name, that
// profile's object is merged over the base first (objects merge key by key,
// everything else replaces). Every profile is validated either way.
Result<Config> parse_config(std::string_view text, std::string_view profile = {},
                            std::string_view source = "config");

// Reads the file with read_trusted_file's checks, then parse_config.
Result<Config> load_config(const std::string& path, std::string_view profile = {});

// The path a program should use: explicit value, else $ZENDESK_SSO_CONFIG, else the default.
std::string config_path_from(std::string_view explicit_path);

}  // namespace zsso
