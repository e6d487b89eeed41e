// SPDX-License-Identifier: BSD-3-Clause
#include "zsso/config.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>

#include "test_support.hpp"

namespace zsso {
namespace {

using zsso::testing::TempDir;
using zsso::testing::write_file;

constexpr const char* kMinimal = R"({"zendesk": {"subdomain": "acme"}})";

Config parse_ok(const std::string& text, std::string_view profile = {}, std::string_view source = "config") {
  auto r = parse_config(text, profile, source);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error());
  return r.ok() ? std::move(*r) : Config{};
}

std::string parse_err(const std::string& text, std::string_view profile = {}) {
  auto r = parse_config(text, profile, "config");
  EXPECT_FALSE(r.ok()) << "accepted: " << text;
  return r.ok() ? "" : r.error();
}

// A document with one extra section body spliced in next to a valid zendesk section.
std::string with(const std::string& section, const std::string& body) {
  if (section == "zendesk") return R"({"zendesk": )" + body + "}";
  return R"({"zendesk": {"subdomain": "acme"}, ")" + section + R"(": )" + body + "}";
}

// Expects exactly this one error line, "config: " + line.
void expect_only_error(const std::string& text, const std::string& line) {
  EXPECT_EQ(parse_err(text), "config: " + line) << text;
}

// Expects an error line starting with "config: " + prefix.
void expect_error_prefix(const std::string& text, const std::string& prefix) {
  std::string e = parse_err(text);
  std::istringstream lines(e);
  std::string l;
  bool found = false;
  while (std::getline(lines, l)) found = found || l.rfind("config: " + prefix, 0) == 0;
  EXPECT_TRUE(found) << "wanted a line starting with \"config: " << prefix << "\" in:\n" << e;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// --- good documents ------------------------------------------------------------

TEST(Config, MinimalDocumentGetsDocumentedDefaults) {
  Config c = parse_ok(kMinimal);
  EXPECT_EQ(c.zendesk.subdomain, "acme");
  EXPECT_EQ(c.zendesk.secret_file, "/etc/zendesk-sso/secret");
  EXPECT_EQ(c.zendesk.delivery, Delivery::post);
  EXPECT_EQ(c.zendesk.exp_seconds, 0);
  EXPECT_TRUE(c.network.ranges.empty());
  EXPECT_EQ(c.access.min_uid, 1000);
  EXPECT_FALSE(c.access.allow_root);
  EXPECT_EQ(c.claims.email, "{user}");
  EXPECT_EQ(c.claims.name, "{gecos}");
  EXPECT_EQ(c.pam.service, "zendesk-sso");
  EXPECT_FALSE(c.helper.trust_remote_user);
  EXPECT_EQ(c.profile, "");
  EXPECT_TRUE(c.profile_names.empty());
}

// The shipped conffile: placeholders only (check refuses them), and nothing
// sent to Zendesk beyond email and name until the admin opts in.
TEST(Config, ShippedConfigSendsOnlyEmailAndName) {
  std::string text = read_text(std::string(ZSSO_EXAMPLES_DIR) + "/config.json");
  ASSERT_FALSE(text.empty());
  Config c = parse_ok(text, {}, "/etc/zendesk-sso/config.json");
  EXPECT_EQ(c.zendesk.subdomain, "your-subdomain");
  EXPECT_EQ(c.claims.email, "{user}@example.invalid");
  EXPECT_EQ(c.claims.name, "{gecos}");
  EXPECT_FALSE(c.claims.external_id);
  EXPECT_FALSE(c.claims.organization);
  EXPECT_FALSE(c.claims.organization_id);
  EXPECT_TRUE(c.claims.organizations.empty());
  EXPECT_TRUE(c.claims.tags.empty());
  EXPECT_TRUE(c.claims.tags_from_groups.empty());
  EXPECT_FALSE(c.claims.role);
  EXPECT_TRUE(c.claims.role_by_group.empty());
  EXPECT_FALSE(c.claims.phone);
  EXPECT_FALSE(c.claims.remote_photo_url);
  EXPECT_FALSE(c.claims.user_fields);
  EXPECT_TRUE(c.profile_names.empty()) << "the agents example is in config-full.json";
  EXPECT_EQ(c.broker.socket, "/run/zendesk-sso/authd.sock");
  EXPECT_EQ(c.broker.allowed_peers, std::vector<std::string>{"www-data"});
}

TEST(Config, FullExampleParses) {
  std::string text = read_text(std::string(ZSSO_EXAMPLES_DIR) + "/config-full.json");
  ASSERT_FALSE(text.empty());
  Config c = parse_ok(text, {}, "/etc/zendesk-sso/config.json");
  EXPECT_EQ(c.zendesk.subdomain, "acme");
  EXPECT_EQ(c.zendesk.return_to_hosts, std::vector<std::string>{"help.acme.com"});
  EXPECT_TRUE(c.network.ranges.contains(*parse_ip("10.20.30.40")));
  EXPECT_TRUE(c.network.ranges.contains(*parse_ip("192.168.77.1")));
  EXPECT_TRUE(c.network.ranges.contains(*parse_ip("fd00::1")));
  EXPECT_FALSE(c.network.ranges.contains(*parse_ip("8.8.8.8")));
  ASSERT_EQ(c.claims.role_by_group.size(), 2u);
  EXPECT_EQ(c.claims.role_by_group[0], (std::pair<std::string, std::string>{"zd-admins", "admin"}));
  EXPECT_EQ(c.claims.role_by_group[1], (std::pair<std::string, std::string>{"zd-agents", "agent"}));
  EXPECT_EQ(c.profile_names, std::vector<std::string>{"agents"});
}

TEST(Config, FullExampleWebauthnBlockParsesWhenUncommented) {
  // config-full.json shows the "webauthn" block commented out (keys off by
  // default); the block as printed must be a working one.
  std::istringstream in(read_text(std::string(ZSSO_EXAMPLES_DIR) + "/config-full.json"));
  std::string text, line;
  bool inside = false;
  while (std::getline(in, line)) {
    if (line == R"(  // "webauthn": {)") inside = true;
    if (inside) line = "  " + line.substr(5);
    if (inside && line == "  },") inside = false;
    text += line + "\n";
  }
  ASSERT_NE(text.find(R"(  "webauthn": {)"), std::string::npos) << "the example's webauthn block";
  Config c = parse_ok(text, {}, "/etc/zendesk-sso/config.json");
  EXPECT_TRUE(c.webauthn.enabled());
  EXPECT_EQ(c.webauthn.rp_id, "acme.com");
  EXPECT_EQ(c.webauthn.authfile, "/var/lib/zendesk-sso/webauthn/authfile");
  EXPECT_FALSE(c.webauthn.passwordless);
}

TEST(Config, FullExampleAgentsProfileMergesOverBase) {
  std::string text = read_text(std::string(ZSSO_EXAMPLES_DIR) + "/config-full.json");
  Config c = parse_ok(text, "agents", "/etc/zendesk-sso/config.json");
  EXPECT_EQ(c.profile, "agents");
  EXPECT_EQ(c.zendesk.secret_file, "/etc/zendesk-sso/secret-agents");
  EXPECT_EQ(c.zendesk.subdomain, "acme");                       // kept from the base
  EXPECT_EQ(c.access.denied_groups, std::vector<std::string>{"zd-denied"});
  EXPECT_EQ(c.access.allowed_groups, (std::vector<std::string>{"zd-agents", "zd-admins"}));
}

TEST(Config, AllowsLineAndBlockComments) {
  Config c = parse_ok(R"(// leading comment
    {
      /* block
         comment */
      "zendesk": { "subdomain": "acme", // trailing comment
                   "delivery": "get" }
    })");
  EXPECT_EQ(c.zendesk.delivery, Delivery::get);
}

TEST(Config, SubdomainAndHostsAreLowerCased) {
  Config c = parse_ok(R"({"zendesk": {"subdomain": "ACME", "return_to_hosts": ["Help.Acme.COM"]}})");
  EXPECT_EQ(c.zendesk.subdomain, "acme");
  EXPECT_EQ(c.zendesk.return_to_hosts, std::vector<std::string>{"help.acme.com"});
}

TEST(Config, IpRangesMayBeOneSpaceSeparatedString) {
  Config c = parse_ok(with("network", R"({"ip_ranges": "10.0.0.0/8 192.168.*.*  2001:db8::/32"})"));
  EXPECT_TRUE(c.network.ranges.contains(*parse_ip("10.1.1.1")));
  EXPECT_TRUE(c.network.ranges.contains(*parse_ip("192.168.9.9")));
  EXPECT_TRUE(c.network.ranges.contains(*parse_ip("2001:db8::9")));
  EXPECT_FALSE(c.network.ranges.contains(*parse_ip("172.16.0.1")));
}

TEST(Config, IpRangesStringWithNulIsRejected) {
  // The single-string form is not screened for control characters; the range parser must refuse it.
  expect_error_prefix(with("network", R"({"ip_ranges": "10.0.0.1\u0000junk"})"), "network.ip_ranges[0]: ");
}

TEST(Config, TrustedProxiesAreParsed) {
  Config c = parse_ok(with("network", R"({"trusted_proxies": ["127.0.0.1", "::1"]})"));
  EXPECT_TRUE(c.network.trusted_proxies.contains(*parse_ip("127.0.0.1")));
  EXPECT_TRUE(c.network.trusted_proxies.contains(*parse_ip("::1")));
  EXPECT_FALSE(c.network.trusted_proxies.contains(*parse_ip("127.0.0.2")));
}

TEST(Config, ReadsEveryClaimsKeyWithItsType) {
  Config c = parse_ok(with("claims", R"({
    "email": "{user}@acme.com", "name": "{gecos}", "external_id": "{uid}",
    "organization": "Acme", "organization_id": 42, "organizations": ["A", "B"],
    "organization_ids": [1, 2], "tags": ["t1"], "tags_from_groups": ["staff"],
    "role": "end_user", "role_by_group": {"z": "admin", "a": "agent"}, "custom_role_id": 7,
    "locale": 1, "locale_id": 1176, "phone": "+15551234567",
    "remote_photo_url": "https://img.example/{user}.png",
    "user_fields": {"team": "{group}", "level": 3, "vip": true, "old": null, "langs": ["en", "de"]}
  })"));
  const auto& cl = c.claims;
  EXPECT_EQ(cl.external_id, "{uid}");
  EXPECT_EQ(cl.organization_id, 42);
  EXPECT_EQ(cl.organizations, (std::vector<std::string>{"A", "B"}));
  EXPECT_EQ(cl.organization_ids, (std::vector<std::int64_t>{1, 2}));
  EXPECT_EQ(cl.role, "end_user");
  ASSERT_EQ(cl.role_by_group.size(), 2u);
  EXPECT_EQ(cl.role_by_group[0].first, "z");   // file order, not sorted
  EXPECT_EQ(cl.custom_role_id, 7);
  EXPECT_EQ(cl.locale_id, 1176);
  ASSERT_TRUE(cl.user_fields);
  EXPECT_EQ(cl.user_fields->at("level"), 3);
  EXPECT_TRUE(cl.user_fields->at("old").is_null());
  EXPECT_TRUE(cl.user_fields->at("langs").is_array());
}

TEST(Config, ReadsBrokerPamAndHelper) {
  Config c = parse_ok(R"({"zendesk": {"subdomain": "acme"},
    "pam": {"service": "zendesk-sso.agents"},
    "broker": {"socket": "/run/zendesk-sso/authd.sock", "allowed_peers": ["www-data", "@web"]},
    "helper": {"trust_remote_user": true, "site_name": "Zoë's intranet", "logout_redirect": "/bye",
               "csrf_key_file": "/etc/zendesk-sso/csrf"}})");
  EXPECT_EQ(c.pam.service, "zendesk-sso.agents");
  EXPECT_EQ(c.broker.socket, "/run/zendesk-sso/authd.sock");
  EXPECT_EQ(c.broker.allowed_peers.size(), 2u);
  EXPECT_TRUE(c.helper.trust_remote_user);
  EXPECT_EQ(c.helper.site_name, "Zoë's intranet");
  EXPECT_EQ(c.helper.csrf_key_file, "/etc/zendesk-sso/csrf");
}

// --- syntax and shape ------------------------------------------------------------

TEST(Config, RejectsInvalidJsonNamingSourceAndPosition) {
  auto r = parse_config("{\n  \"zendesk\": {\"subdomain\": \"acme\",}\n}", {}, "/etc/z/config.json");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().rfind("/etc/z/config.json: ", 0), 0u) << r.error();
  EXPECT_NE(r.error().find("line 2"), std::string::npos) << r.error();
}

TEST(Config, RejectsEmptyAndTruncatedText) {
  parse_err("");
  parse_err("{");
  parse_err(R"({"zendesk": {"subdomain": "acme"})");
  parse_err(R"({"zendesk": {"subdomain": "acme"}} trailing)");
}

// Found by tests/fuzz/fuzz_config: copying a deeply nested tree overflowed the stack.
TEST(Config, RejectsNestingDeeperThan64LevelsInsteadOfOverflowingTheStack) {
  // The document, claims and user_fields objects are three levels around the lists.
  auto lists = [](std::size_t depth) {
    return with("claims", R"({"user_fields": {"x": )" + std::string(depth, '[') + std::string(depth, ']') + "}}");
  };
  parse_ok(lists(61));
  expect_only_error(lists(62), "nested more than 64 levels deep");
  expect_only_error(lists(500000), "nested more than 64 levels deep");   // 1 MB, load_config's cap
  expect_only_error(std::string(1 << 20, '{'), "nested more than 64 levels deep");
}

TEST(Config, BracketsInStringsAndCommentsDoNotCountAsNesting) {
  std::string deep(100, '[');
  std::string site_name = deep + R"(\")" + deep;   // an escaped quote does not end the string
  parse_ok("// " + std::string(100, '{') + "\n/* " + deep + " */\n" +
           with("helper", R"({"site_name": ")" + site_name + R"("})"));
}

// JSON keeps the last of two equal keys; an admin who writes a second
// "ip_ranges" must hear that the first is lost, wherever it is.
TEST(Config, RejectsAKeyGivenTwiceInOneObjectNamingItsPath) {
  expect_only_error(R"({"zendesk": {"subdomain": "acme"}, "zendesk": {"subdomain": "evil"}})",
                    "zendesk: given twice in one object (JSON would keep only the last)");
  expect_only_error(with("network", R"({"ip_ranges": ["10.0.0.0/8"], // first
                                      "ip_ranges": ["0.0.0.0/0"]})"),
                    "network.ip_ranges: given twice in one object (JSON would keep only the last)");
  expect_only_error(with("profiles", R"({"agents": {"pam": {"service": "a", "service": "b"}}})"),
                    "profiles.agents.pam.service: given twice in one object (JSON would keep only the last)");
  expect_only_error(with("x", R"([{"a": 1}, {"b": [1, {"c": 1, "c": 2}]}])"),
                    "x[1].b[1].c: given twice in one object (JSON would keep only the last)");
  // Raw control characters (invalid JSON, but this pass runs first) are quoted, not logged.
  expect_only_error("{\"a\nb\": 1, \"a\nb\": 2}",
                    "\"a\\x0ab\": given twice in one object (JSON would keep only the last)");
}

TEST(Config, EqualKeysInDifferentObjectsAndEqualValuesAreFine) {
  Config c = parse_ok(with("profiles", R"({"a": {"pam": {"service": "s"}}, "b": {"pam": {"service": "s"}}})"));
  EXPECT_EQ(c.profile_names.size(), 2u);
  // A value equal to a key, a key inside a string or comment, an escaped quote.
  Config h = parse_ok(with("helper", R"({/* "site_name": 1, */ "site_name": "\"site_name\": 2, site_name"})"));
  EXPECT_EQ(h.helper.site_name, R"("site_name": 2, site_name)");
}

TEST(Config, RejectsNonObjectTopLevel) {
  EXPECT_EQ(parse_err("[]"), "config: the top level must be a JSON object");
  EXPECT_EQ(parse_err("\"acme\""), "config: the top level must be a JSON object");
}

TEST(Config, RejectsInvalidUtf8) {
  parse_err("{\"zendesk\": {\"subdomain\": \"acme\"}, \"helper\": {\"site_name\": \"\xff\xfe\"}}");
}

TEST(Config, RejectsUnknownTopLevelKey) {
  expect_error_prefix(R"({"zendesk": {"subdomain": "acme"}, "zendsek": {}})", "zendsek: unknown key");
}

TEST(Config, RejectsUnknownNestedKeysNamingTheirPath) {
  expect_error_prefix(R"({"zendesk": {"subdomain": "acme", "subdomian": "x"}})", "zendesk.subdomian: unknown key");
  expect_error_prefix(with("access", R"({"min_gid": 5})"), "access.min_gid: unknown key");
  expect_error_prefix(with("claims", R"({"emial": "x"})"), "claims.emial: unknown key");
  expect_error_prefix(with("helper", R"({"debug": true})"), "helper.debug: unknown key");
}

TEST(Config, UnknownKeyMessageListsTheKnownKeys) {
  std::string e = parse_err(with("pam", R"({"servce": "x"})"));
  EXPECT_NE(e.find("known here: service"), std::string::npos) << e;
}

TEST(Config, RejectsSectionsThatAreNotObjects) {
  expect_error_prefix(R"({"zendesk": "acme"})", "zendesk: must be an object");
  expect_error_prefix(with("network", "[]"), "network: must be an object");
  expect_error_prefix(with("claims", "null"), "claims: must be an object");
}

TEST(Config, RejectsWrongTypesNamingTheKey) {
  expect_only_error(R"({"zendesk": {"subdomain": "acme", "delivery": 1}})", "zendesk.delivery: must be a string");
  expect_only_error(with("access", R"({"min_uid": "1000"})"), "access.min_uid: must be an integer");
  expect_only_error(with("access", R"({"min_uid": 1000.5})"), "access.min_uid: must be an integer");
  expect_only_error(with("access", R"({"allow_root": "yes"})"), "access.allow_root: must be true or false");
  expect_only_error(with("access", R"({"allow_root": 1})"), "access.allow_root: must be true or false");
  expect_only_error(with("access", R"({"allowed_groups": "staff"})"), "access.allowed_groups: must be a list of strings");
  expect_only_error(with("access", R"({"allowed_groups": ["staff", 3]})"), "access.allowed_groups[1]: must be a string");
  expect_only_error(with("claims", R"({"tags": [""]})"),
                    "claims.tags[0]: must be a non-empty string without control characters");
  expect_only_error(with("claims", R"({"organization_ids": ["1"]})"), "claims.organization_ids[0]: must be an integer");
  expect_only_error(with("claims", R"({"organization_ids": 1})"), "claims.organization_ids: must be a list of integers");
  expect_only_error(with("claims", R"({"user_fields": []})"),
                    "claims.user_fields: must be an object keyed by custom field key");
  expect_only_error(with("helper", R"({"trust_remote_user": "false"})"), "helper.trust_remote_user: must be true or false");
  expect_error_prefix(with("network", R"({"ip_ranges": 10})"), "network.ip_ranges: must be a list of strings or one");
}

TEST(Config, RejectsIntegersOutOfRange) {
  expect_error_prefix(with("claims", R"({"locale_id": 0})"), "claims.locale_id: must be between 1 and");
  expect_error_prefix(with("claims", R"({"organization_id": -5})"), "claims.organization_id: must be between 1 and");
  expect_error_prefix(with("claims", R"({"custom_role_id": 18446744073709551615})"),
                      "claims.custom_role_id: must be between 1 and");
  expect_error_prefix(with("access", R"({"min_uid": -1})"), "access.min_uid: must be between 0 and");
  expect_error_prefix(with("access", R"({"min_uid": 4294967295})"), "access.min_uid: must be between 0 and");
  expect_error_prefix(R"({"zendesk": {"subdomain": "acme", "exp_seconds": 3601}})",
                      "zendesk.exp_seconds: must be between 0 and 3600");
}

TEST(Config, RejectsControlCharactersInStrings) {
  expect_only_error(with("helper", R"({"site_name": "a\u0007b"})"), "helper.site_name: contains a control character");
  expect_only_error(with("claims", R"({"email": "{user}\n@x"})"), "claims.email: contains a control character");
  expect_only_error(with("access", R"({"denied_groups": ["a\tb"]})"),
                    "access.denied_groups[0]: must be a non-empty string without control characters");
}

TEST(Config, VersionMustBeExactlyOne) {
  parse_ok(R"({"version": 1, "zendesk": {"subdomain": "acme"}})");
  expect_only_error(R"({"version": 2, "zendesk": {"subdomain": "acme"}})", "version: only version 1 is understood");
  expect_only_error(R"({"version": "1", "zendesk": {"subdomain": "acme"}})", "version: only version 1 is understood");
  expect_only_error(R"({"version": 1.0, "zendesk": {"subdomain": "acme"}})", "version: only version 1 is understood");
}

TEST(Config, VersionDoesNotWrapAroundToOne) {
  // 2^32 + 1 narrowed to int is 1.
  expect_only_error(R"({"version": 4294967297, "zendesk": {"subdomain": "acme"}})",
                    "version: only version 1 is understood");
  expect_only_error(R"({"version": 18446744073709551617, "zendesk": {"subdomain": "acme"}})",
                    "version: only version 1 is understood");
}

TEST(Config, CollectsEveryProblemAtOnce) {
  std::string e = parse_err(R"({"zendesk": {"subdomain": "acme", "delivery": "put"},
    "access": {"min_uid": "x"}, "claims": {"role": "boss"}, "bogus": 1})");
  for (const char* key : {"zendesk.delivery:", "access.min_uid:", "claims.role:", "bogus:"})
    EXPECT_NE(e.find(std::string("config: ") + key), std::string::npos) << key << " missing from\n" << e;
  EXPECT_EQ(std::count(e.begin(), e.end(), '\n'), 3) << e;
}

// --- zendesk section -------------------------------------------------------------

TEST(Config, MissingZendeskSectionIsNamed) {
  expect_error_prefix("{}", "zendesk: required");
}

TEST(Config, MissingSubdomainIsNamed) {
  expect_only_error(R"({"zendesk": {}})", "zendesk.subdomain: required (the SUBDOMAIN of SUBDOMAIN.zendesk.com)");
}

TEST(Config, RejectsSubdomainsThatAreNotOneLabel) {
  for (const char* bad : {"acme.zendesk.com", "https://acme", "-acme", "acme-", "ac me", "", "acme_co", "ac/me",
                          "xn--zo-tka.", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"})
    expect_error_prefix(std::string(R"({"zendesk": {"subdomain": ")") + bad + "\"}}", "zendesk.subdomain: \"");
}

TEST(Config, RejectsBadDelivery) {
  expect_only_error(R"({"zendesk": {"subdomain": "acme", "delivery": "put"}})",
                    "zendesk.delivery: \"put\" must be \"post\" (recommended) or \"get\" (deprecated by Zendesk)");
  expect_error_prefix(R"({"zendesk": {"subdomain": "acme", "delivery": "POST"}})", "zendesk.delivery:");
  expect_error_prefix(R"({"zendesk": {"subdomain": "acme", "delivery": ""}})", "zendesk.delivery:");
}

TEST(Config, RejectsReturnToHostsThatAreNotHostNames) {
  for (const char* bad : {"https://help.acme.com", "help.acme.com:443", "help.acme.com/hc", "help..acme.com",
                          ".acme.com", "help acme.com", "user@help.acme.com"})
    expect_error_prefix(std::string(R"({"zendesk": {"subdomain": "acme", "return_to_hosts": ["ok.acme.com", ")") +
                            bad + "\"]}}",
                        "zendesk.return_to_hosts[1]: \"");
}

TEST(Config, RejectsEmptySecretFile) {
  expect_only_error(R"({"zendesk": {"subdomain": "acme", "secret_file": ""}})", "zendesk.secret_file: must not be empty");
}

TEST(Config, RelativeSecretFileIsResolvedNextToTheConfig) {
  Config c = parse_ok(R"({"zendesk": {"subdomain": "acme", "secret_file": "secret"}})", {}, "/etc/zsso/config.json");
  EXPECT_EQ(c.zendesk.secret_file, "/etc/zsso/secret");
  Config d = parse_ok(R"({"zendesk": {"subdomain": "acme", "secret_file": "keys/zd"}})", {}, "/srv/conf/c.json");
  EXPECT_EQ(d.zendesk.secret_file, "/srv/conf/keys/zd");
  Config abs = parse_ok(R"({"zendesk": {"subdomain": "acme", "secret_file": "/abs/secret"}})", {}, "/etc/zsso/config.json");
  EXPECT_EQ(abs.zendesk.secret_file, "/abs/secret");
}

TEST(Config, RelativeSecretFileInAProfileIsResolvedToo) {
  Config c = parse_ok(R"({"zendesk": {"subdomain": "acme"},
    "profiles": {"agents": {"zendesk": {"secret_file": "secret-agents"}}}})",
                      "agents", "/etc/zsso/config.json");
  EXPECT_EQ(c.zendesk.secret_file, "/etc/zsso/secret-agents");
}

// --- network section ---------------------------------------------------------------

TEST(Config, BadIpRangeErrorNamesIndexAndValue) {
  std::string e = parse_err(with("network", R"({"ip_ranges": ["10.0.0.0/8", "192.168.0.0/16", "10.0.0.0/33"]})"));
  EXPECT_EQ(e.rfind("config: network.ip_ranges[2]: \"10.0.0.0/33\" is not a CIDR range", 0), 0u) << e;
}

TEST(Config, BadIpRangesOfEveryKindAreRejected) {
  for (const char* bad : {"1.2.3", "::g", "/0", "0.0.0.0/0", "10.1.2.3/8", "1.*.2.*", "010.0.0.0/8", "*.*.*.*"})
    expect_error_prefix(with("network", std::string(R"({"ip_ranges": ["10.0.0.0/8", ")") + bad + "\"]}"),
                        std::string("network.ip_ranges[1]: "));
}

TEST(Config, BadTrustedProxyIsNamed) {
  expect_error_prefix(with("network", R"({"trusted_proxies": ["::1", "proxy.local"]})"),
                      "network.trusted_proxies[1]: \"proxy.local\" ");
}

// --- claims section ------------------------------------------------------------------

TEST(Config, RejectsBadRole) {
  expect_only_error(with("claims", R"({"role": "superuser"})"),
                    "claims.role: \"superuser\" must be end_user, agent or admin");
  expect_error_prefix(with("claims", R"({"role": "user"})"), "claims.role:");   // older Zendesk wording
  expect_error_prefix(with("claims", R"({"role": 1})"), "claims.role:");
}

TEST(Config, RejectsBadRoleByGroup) {
  expect_only_error(with("claims", R"({"role_by_group": {"zd-admins": "admin", "zd-x": "boss"}})"),
                    "claims.role_by_group.zd-x: must be \"end_user\", \"agent\" or \"admin\"");
  expect_error_prefix(with("claims", R"({"role_by_group": {"g": 1}})"), "claims.role_by_group.g:");
  expect_error_prefix(with("claims", R"({"role_by_group": ["admin"]})"), "claims.role_by_group: must be an object");
}

TEST(Config, RejectsUnknownPlaceholder) {
  expect_only_error(with("claims", R"({"email": "{nope}@acme.com"})"),
                    "claims.email: \"{nope}@acme.com\": unknown placeholder {nope} "
                    "(known: {user} {uid} {gid} {gecos} {home} {group})");
}

TEST(Config, RejectsLoneBracesInTemplates) {
  expect_error_prefix(with("claims", R"({"name": "{user"})"), "claims.name: \"{user\": unclosed '{'");
  expect_error_prefix(with("claims", R"({"name": "user}"})"), "claims.name: \"user}\": lone '}'");
  expect_error_prefix(with("claims", R"({"external_id": "{uid}}"})"), "claims.external_id:");
  expect_error_prefix(with("claims", R"({"phone": "{}"})"), "claims.phone:");
  expect_error_prefix(with("claims", R"({"organization": "{User}"})"), "claims.organization:");
  expect_error_prefix(with("claims", R"({"remote_photo_url": "https://x/{home"})"), "claims.remote_photo_url:");
  expect_error_prefix(with("claims", R"({"user_fields": {"team": "{grp}"}})"), "claims.user_fields.team:");
}

TEST(Config, DoubledBracesAreLiteral) {
  parse_ok(with("claims", R"({"name": "{{{user}}}", "external_id": "{{x}}"})"));
}

TEST(Config, RejectsNestedObjectsInUserFields) {
  expect_only_error(with("claims", R"({"user_fields": {"a": {"b": 1}}})"),
                    "claims.user_fields.a: must be a string, number, boolean, list or null");
}

TEST(Config, RejectsCommaInsideAnOrganizationName) {
  expect_only_error(with("claims", R"({"organizations": ["Acme", "Foo, Inc"]})"),
                    "claims.organizations[1]: must not contain ',' (Zendesk joins the list with commas)");
}

// --- pam, broker, helper -----------------------------------------------------------------

TEST(Config, RejectsBadPamServiceNames) {
  for (const char* bad : {"", "../etc/passwd", "zendesk sso", ".hidden", "a/b"})
    expect_error_prefix(with("pam", std::string(R"({"service": ")") + bad + "\"}"), "pam.service:");
}

TEST(Config, RejectsRelativeOrOverlongBrokerSocket) {
  expect_error_prefix(with("broker", R"({"socket": "run/authd.sock"})"), "broker.socket: must be an absolute path");
  expect_error_prefix(with("broker", "{\"socket\": \"/" + std::string(120, 'a') + "\"}"), "broker.socket:");
}

TEST(Config, ChangingExpiredPasswordsOnThePagesIsAnOptIn) {
  // Off unless asked: the shipped broker cannot write /etc/shadow (issue 21).
  EXPECT_FALSE(parse_ok(kMinimal).broker.change_expired_passwords);
  EXPECT_TRUE(parse_ok(with("broker", R"({"change_expired_passwords": true})")).broker.change_expired_passwords);
  expect_error_prefix(with("broker", R"({"change_expired_passwords": "yes"})"), "broker.change_expired_passwords:");
}

TEST(Config, BrokerSharesHaveDefaultsAndLimits) {
  // Issue 22.1: one address or account holds a small share of the broker.
  const auto d = parse_ok(kMinimal).broker;
  EXPECT_EQ(d.max_sign_ins_per_address, 6);
  EXPECT_EQ(d.max_conversations_per_address, 4);
  EXPECT_EQ(d.max_conversations_per_account, 2);
  EXPECT_EQ(d.reserved(), 8);   // an eighth of max_sign_ins (64)
  EXPECT_EQ(parse_ok(with("broker", R"({"max_sign_ins": 4})")).broker.reserved(), 0);
  const auto c = parse_ok(with("broker", R"({"reserved_sign_ins": 3, "limits_exempt": ["10.0.0.0/8", "2001:db8::/32"]})")).broker;
  EXPECT_EQ(c.reserved(), 3);
  EXPECT_TRUE(c.limits_exempt.contains(*zsso::parse_ip("10.1.2.3")));
  EXPECT_FALSE(c.limits_exempt.contains(*zsso::parse_ip("192.0.2.1")));
  expect_error_prefix(with("broker", R"({"reserved_sign_ins": 64})"), "broker.reserved_sign_ins: must be below");
  expect_error_prefix(with("broker", R"({"max_sign_ins_per_address": 0})"), "broker.max_sign_ins_per_address:");
  expect_error_prefix(with("broker", R"({"limits_exempt": ["10.0.0.0/33"]})"), "broker.limits_exempt[0]");
}

TEST(Config, BusyAfterIsSecondsBelowTheCgisWait) {
  EXPECT_EQ(parse_ok(kMinimal).broker.busy_after_seconds, 3);
  EXPECT_EQ(parse_ok(with("broker", R"({"busy_after_seconds": 20})")).broker.busy_after_seconds, 20);
  // The CGI gives up on the broker after 25 s: a longer wait would end as "broker down".
  expect_error_prefix(with("broker", R"({"busy_after_seconds": 21})"), "broker.busy_after_seconds:");
  expect_error_prefix(with("broker", R"({"busy_after_seconds": 0})"), "broker.busy_after_seconds:");
}

TEST(Config, AcceptsTheRetiredCsrfKeyFile) {
  // Retired in issue 16: old configs still load (check warns); a relative
  // path no longer matters because nothing opens it. Its type still counts.
  EXPECT_EQ(parse_ok(with("helper", R"({"csrf_key_file": "csrf"})")).helper.csrf_key_file, "csrf");
  expect_error_prefix(with("helper", R"({"csrf_key_file": 1})"), "helper.csrf_key_file:");
}

TEST(Config, ReadsThePagesLanguageAndBrandingKeys) {
  Config c = parse_ok(with("helper", R"({"help_contact": "IT desk, ext. 4711", "help_url": "mailto:it@acme.test",
      "default_language": "pt-BR", "locale_dir": "/etc/zendesk-sso/locale", "locale_ids": {"19": "pt-BR", "1176": "en-GB"},
      "logo_file": "/etc/zendesk-sso/logo.svg", "primary_color": "#C0FFEE", "banner": "Authorised use only"})"));
  EXPECT_EQ(c.helper.help_contact, "IT desk, ext. 4711");
  EXPECT_EQ(c.helper.help_url, "mailto:it@acme.test");
  EXPECT_EQ(c.helper.default_language, "pt-BR");
  EXPECT_EQ(c.helper.locale_dir, "/etc/zendesk-sso/locale");
  ASSERT_EQ(c.helper.locale_ids.size(), 2u);
  EXPECT_EQ(c.helper.locale_ids[1], (std::pair<std::int64_t, std::string>{1176, "en-GB"}));
  EXPECT_EQ(c.helper.logo_file, "/etc/zendesk-sso/logo.svg");
  EXPECT_EQ(c.helper.primary_color, "#C0FFEE");
  EXPECT_EQ(c.helper.banner, "Authorised use only");
  EXPECT_EQ(parse_ok(kMinimal).helper.default_language, "en");
}

TEST(Config, RejectsBadBrandingAndLanguageValuesNamingTheKey) {
  expect_error_prefix(with("helper", R"({"primary_color": "red"})"), "helper.primary_color: \"red\" must be a colour");
  expect_error_prefix(with("helper", R"({"primary_color": "#12345g"})"), "helper.primary_color");
  expect_error_prefix(with("helper", R"({"primary_color": "#123"})"), "helper.primary_color");
  expect_error_prefix(with("helper", R"J({"help_url": "javascript:alert(1)"})J"), "helper.help_url");
  expect_error_prefix(with("helper", R"({"help_url": "https://help desk"})"), "helper.help_url");
  expect_error_prefix(with("helper", R"({"default_language": "german"})"), "helper.default_language");
  expect_error_prefix(with("helper", R"({"default_language": "../de"})"), "helper.default_language");
  expect_error_prefix(with("helper", R"({"locale_dir": "locale"})"), "helper.locale_dir: must be an absolute path");
  expect_error_prefix(with("helper", R"({"logo_file": "logo.png"})"), "helper.logo_file: must be an absolute path");
  expect_error_prefix(with("helper", R"({"locale_ids": {"x": "de"}})"), "helper.locale_ids.x");
  expect_error_prefix(with("helper", R"({"locale_ids": {"8": "de/../x"}})"), "helper.locale_ids.8");
  expect_error_prefix(with("helper", R"({"locale_ids": ["de"]})"), "helper.locale_ids: must be an object");
  expect_error_prefix(with("helper", R"({"banner": "a\nb"})"), "helper.banner: contains a control character");
  expect_error_prefix(with("helper", "{\"banner\": \"" + std::string(1001, 'x') + "\"}"), "helper.banner: is longer");
}

TEST(Config, LogoutRedirectMustBeHttpOrALocalPath) {
  parse_ok(with("helper", R"({"logout_redirect": "https://intranet.example/"})"));
  parse_ok(with("helper", R"({"logout_redirect": "/"})"));
  parse_ok(with("helper", R"({"logout_redirect": "/portal"})"));
  for (const char* bad : {"javascript:alert(1)", "//evil.com", "/\\\\evil.com", "ftp://x", "data:text/html,x", "portal"})
    expect_error_prefix(with("helper", std::string(R"({"logout_redirect": ")") + bad + "\"}"), "helper.logout_redirect:");
}

// --- profiles ------------------------------------------------------------------------------

constexpr const char* kProfiles = R"({
  "zendesk": {"subdomain": "acme", "secret_file": "/etc/z/secret", "return_to_hosts": ["help.acme.com"]},
  "network": {"ip_ranges": ["10.0.0.0/8"]},
  "access": {"allowed_groups": ["staff"], "denied_groups": ["banned"]},
  "claims": {"email": "{user}@acme.com", "role": "end_user"},
  "profiles": {
    "agents": {"zendesk": {"secret_file": "/etc/z/secret-agents"},
               "access": {"allowed_groups": ["zd-agents"]},
               "claims": {"role": "agent"}},
    "lab": {"network": {"ip_ranges": "192.168.*.*"}}
  }
})";

TEST(ConfigProfiles, BaseIsUsedWithoutAProfileName) {
  Config c = parse_ok(kProfiles);
  EXPECT_EQ(c.profile, "");
  EXPECT_EQ(c.zendesk.secret_file, "/etc/z/secret");
  EXPECT_EQ(c.claims.role, "end_user");
  EXPECT_EQ(c.profile_names, (std::vector<std::string>{"agents", "lab"}));
}

TEST(ConfigProfiles, ObjectsMergeKeyByKeyAndListsReplace) {
  Config c = parse_ok(kProfiles, "agents");
  EXPECT_EQ(c.profile, "agents");
  EXPECT_EQ(c.zendesk.subdomain, "acme");                                   // from the base
  EXPECT_EQ(c.zendesk.return_to_hosts, std::vector<std::string>{"help.acme.com"});
  EXPECT_EQ(c.zendesk.secret_file, "/etc/z/secret-agents");                 // overridden
  EXPECT_EQ(c.access.allowed_groups, std::vector<std::string>{"zd-agents"}); // replaced, not appended
  EXPECT_EQ(c.access.denied_groups, std::vector<std::string>{"banned"});
  EXPECT_EQ(c.claims.role, "agent");
  EXPECT_EQ(c.claims.email, "{user}@acme.com");
  EXPECT_TRUE(c.network.ranges.contains(*parse_ip("10.1.1.1")));
  EXPECT_EQ(c.profile_names, (std::vector<std::string>{"agents", "lab"}));
}

TEST(ConfigProfiles, ProfileCanReplaceIpRanges) {
  Config c = parse_ok(kProfiles, "lab");
  EXPECT_TRUE(c.network.ranges.contains(*parse_ip("192.168.1.1")));
  EXPECT_FALSE(c.network.ranges.contains(*parse_ip("10.1.1.1")));
}

TEST(ConfigProfiles, UnknownProfileNameIsReported) {
  auto r = parse_config(kProfiles, "nope", "config");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), "config: profile \"nope\" is not defined under \"profiles\"");
  auto none = parse_config(kMinimal, "agents", "config");
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error(), "config: profile \"agents\" is not defined under \"profiles\"");
}

TEST(ConfigProfiles, BrokenProfileIsAnErrorEvenWhenNotSelected) {
  std::string text = R"({"zendesk": {"subdomain": "acme"},
    "profiles": {"good": {}, "broken": {"claims": {"role": "boss"}, "network": {"ip_ranges": ["1.2.3"]}}}})";
  for (std::string_view profile : {std::string_view{}, std::string_view{"good"}}) {
    auto r = parse_config(text, profile, "config");
    ASSERT_FALSE(r.ok()) << profile;
    EXPECT_NE(r.error().find("config: profiles.broken.claims.role: \"boss\""), std::string::npos) << r.error();
    EXPECT_NE(r.error().find("config: profiles.broken.network.ip_ranges[0]: \"1.2.3\""), std::string::npos)
        << r.error();
  }
}

TEST(ConfigProfiles, UnknownKeyInsideAProfileIsNamed) {
  expect_error_prefix(R"({"zendesk": {"subdomain": "acme"}, "profiles": {"p": {"zendesk": {"sekret": "x"}}}})",
                      "profiles.p.zendesk.sekret: unknown key");
}

TEST(ConfigProfiles, BaseErrorsAreNotRepeatedPerProfile) {
  std::string e = parse_err(R"({"zendesk": {"subdomain": "acme"}, "claims": {"role": "boss"},
    "profiles": {"a": {}, "b": {}}})");
  EXPECT_EQ(e, "config: claims.role: \"boss\" must be end_user, agent or admin");
}

TEST(ConfigProfiles, RejectsMalformedProfiles) {
  expect_only_error(R"({"zendesk": {"subdomain": "acme"}, "profiles": []})",
                    "profiles: must be an object of named overrides");
  expect_only_error(R"({"zendesk": {"subdomain": "acme"}, "profiles": {"p": 1}})", "profiles.p: must be an object");
  expect_only_error(R"({"zendesk": {"subdomain": "acme"}, "profiles": {"p": {"profiles": {}}}})",
                    "profiles.p.profiles: profiles do not nest");
  expect_error_prefix(R"({"zendesk": {"subdomain": "acme"}, "profiles": {"a b": {}}})",
                      "profiles.a b: profile names use");
  expect_error_prefix(R"({"zendesk": {"subdomain": "acme"}, "profiles": {"": {}}})", "profiles.: profile names use");
}

TEST(ConfigProfiles, ProfileCanSupplyTheSubdomainTheBaseLacks) {
  // The base alone is then invalid, which is reported: every document must stand.
  expect_error_prefix(R"({"zendesk": {}, "profiles": {"p": {"zendesk": {"subdomain": "acme"}}}})",
                      "zendesk.subdomain: required");
}

// --- load_config -----------------------------------------------------------------------------

TEST(LoadConfig, LoadsAFileAndResolvesRelativeSecretNextToIt) {
  TempDir dir;
  std::string path = write_file(dir.file("config.json"), R"({"zendesk": {"subdomain": "acme", "secret_file": "secret"}})",
                                0644);
  auto r = load_config(path);
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->source, path);
  EXPECT_EQ(r->zendesk.secret_file, dir.file("secret"));
}

TEST(LoadConfig, ErrorsArePrefixedWithThePath) {
  TempDir dir;
  std::string path = write_file(dir.file("config.json"), R"({"zendesk": {"subdomain": "acme", "delivery": "x"}})", 0644);
  auto r = load_config(path);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().rfind(path + ": zendesk.delivery: ", 0), 0u) << r.error();
}

TEST(LoadConfig, RefusesGroupOrWorldWritableConfig) {
  TempDir dir;
  for (mode_t mode : {0664, 0646, 0666}) {
    std::string path = write_file(dir.file("config.json"), kMinimal, mode);
    auto r = load_config(path);
    ASSERT_FALSE(r.ok()) << std::oct << mode;
    EXPECT_NE(r.error().find("writable"), std::string::npos) << r.error();
  }
}

TEST(LoadConfig, RefusesSymlinkedConfig) {
  TempDir dir;
  std::string real = write_file(dir.file("real.json"), kMinimal, 0644);
  std::string link = dir.file("config.json");
  ASSERT_EQ(::symlink(real.c_str(), link.c_str()), 0);
  auto r = load_config(link);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("symbolic link"), std::string::npos) << r.error();
}

TEST(LoadConfig, MissingFileNamesThePath) {
  TempDir dir;
  auto r = load_config(dir.file("absent.json"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().rfind(dir.file("absent.json") + ": ", 0), 0u) << r.error();
}

TEST(LoadConfig, SelectsAProfile) {
  TempDir dir;
  std::string path = write_file(dir.file("config.json"), kProfiles, 0644);
  auto r = load_config(path, "agents");
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->claims.role, "agent");
}

TEST(ConfigPath, ExplicitBeatsEnvironmentBeatsDefault) {
  ::unsetenv("ZENDESK_SSO_CONFIG");
  EXPECT_EQ(config_path_from(""), kDefaultConfigPath);
  ::setenv("ZENDESK_SSO_CONFIG", "/env/config.json", 1);
  EXPECT_EQ(config_path_from(""), "/env/config.json");
  EXPECT_EQ(config_path_from("/explicit.json"), "/explicit.json");
  ::setenv("ZENDESK_SSO_CONFIG", "", 1);
  EXPECT_EQ(config_path_from(""), kDefaultConfigPath);
  ::unsetenv("ZENDESK_SSO_CONFIG");
}

// --- api (zendesk-sso sync) -----------------------------------------------------

TEST(ConfigApi, AbsentSectionIsNotPresent) {
  EXPECT_FALSE(parse_ok(kMinimal).api.present);
}

TEST(ConfigApi, TokenFileWithEmailAndDefaults) {
  Config c = parse_ok(with("api", R"({"token_file": "api-token", "email": "ops@acme.com",
                                      "email_domains": ["ACME.com", "staff.acme.com"]})"),
                      {}, "/etc/zendesk-sso/config.json");
  EXPECT_TRUE(c.api.present);
  EXPECT_EQ(c.api.token_file, "/etc/zendesk-sso/api-token");   // beside the config, like secret_file
  EXPECT_EQ(c.api.email, "ops@acme.com");
  EXPECT_EQ(c.api.email_domains, (std::vector<std::string>{"acme.com", "staff.acme.com"}));
  EXPECT_FALSE(c.api.include_admins);
  EXPECT_DOUBLE_EQ(c.api.max_change_fraction, 0.1);
}

TEST(ConfigApi, OauthTokenFile) {
  Config c = parse_ok(with("api", R"({"oauth_token_file": "/etc/zendesk-sso/oauth", "max_change_fraction": 0.25,
                                      "include_admins": true})"));
  EXPECT_EQ(c.api.oauth_token_file, "/etc/zendesk-sso/oauth");
  EXPECT_DOUBLE_EQ(c.api.max_change_fraction, 0.25);
  EXPECT_TRUE(c.api.include_admins);
}

TEST(ConfigApi, NamesEveryMistake) {
  expect_only_error(with("api", "{}"), "api: needs exactly one of token_file (with email) or oauth_token_file");
  expect_only_error(with("api", R"({"token_file": "t", "oauth_token_file": "o"})"),
                    "api: needs exactly one of token_file (with email) or oauth_token_file");
  expect_error_prefix(with("api", R"({"token_file": "t"})"), "api.email: required with api.token_file");
  expect_error_prefix(with("api", R"({"token_file": "t", "email": "ops"})"), "api.email: \"ops\" is not an email address");
  expect_error_prefix(with("api", R"({"oauth_token_file": "o", "email": "ops@acme.com"})"), "api.email: goes with api.token_file");
  expect_error_prefix(with("api", R"({"oauth_token_file": "o", "email_domains": ["@acme.com"]})"), "api.email_domains[0]:");
  expect_error_prefix(with("api", R"({"oauth_token_file": "o", "email_domains": []})"), "api.email_domains: must name at least one");
  expect_error_prefix(with("api", R"({"oauth_token_file": "o", "max_change_fraction": 0})"), "api.max_change_fraction:");
  expect_error_prefix(with("api", R"({"oauth_token_file": "o", "max_change_fraction": 1.5})"), "api.max_change_fraction:");
  expect_error_prefix(with("api", R"({"oauth_token_file": "o", "url": "x"})"), "api.url: unknown key");
}

}  // namespace
}  // namespace zsso

// --- session (issue 13) ------------------------------------------------------------

namespace zsso {
namespace {

TEST(ConfigSession, OffUntilAKeyFileIsNamed) {
  Config c = parse_ok(kMinimal);
  EXPECT_EQ(c.session.max_seconds, 36000);
  EXPECT_EQ(c.session.idle_seconds, 28800);
  EXPECT_FALSE(c.session.enabled());
  c = parse_ok(with("session", R"({"key_file": "/etc/zendesk-sso/session-key"})"));
  EXPECT_TRUE(c.session.enabled());
  c = parse_ok(with("session", R"({"key_file": "/etc/zendesk-sso/session-key", "max_seconds": 0})"));
  EXPECT_FALSE(c.session.enabled());
}

TEST(ConfigSession, BadValuesNameTheirKey) {
  expect_error_prefix(with("session", R"({"key_file": "session-key"})"), "session.key_file: must be an absolute path");
  expect_error_prefix(with("session", R"({"previous_key_file": "old"})"), "session.previous_key_file: must be an absolute");
  expect_error_prefix(with("session", R"({"key_file": "/k", "previous_key_file": "/k"})"), "session.previous_key_file:");
  expect_error_prefix(with("session", R"({"max_seconds": -1})"), "session.max_seconds: must be between");
  expect_error_prefix(with("session", R"({"idle_seconds": "1h"})"), "session.idle_seconds: must be an integer");
  expect_error_prefix(with("session", R"({"remember": true})"), "session.remember: unknown key");
}

TEST(ConfigSession, ProfilesMayOverrideLifetimes) {
  Config c = parse_ok(R"({"zendesk": {"subdomain": "acme"}, "session": {"key_file": "/k", "max_seconds": 600},
                         "profiles": {"users": {"session": {"max_seconds": 86400}}}})", "users");
  EXPECT_EQ(c.session.max_seconds, 86400);
  EXPECT_EQ(c.session.key_file, "/k");
}

}  // namespace
}  // namespace zsso

// --- webauthn (issue 23, slice 2) ------------------------------------------------------

namespace zsso {
namespace {

TEST(ConfigWebauthn, OffWithoutTheSection) {
  Config c = parse_ok(kMinimal);
  EXPECT_FALSE(c.webauthn.enabled());
  EXPECT_EQ(c.webauthn.authfile, "/var/lib/zendesk-sso/webauthn/authfile");
}

TEST(ConfigWebauthn, ReadsEveryKey) {
  Config c = parse_ok(with("webauthn", R"({"rp_id": "example.com",
      "origins": ["https://sso.example.com", "https://example.com:8443"], "user_verification": "required",
      "required_groups": ["admins"], "authfile": "/srv/keys"})"));
  EXPECT_TRUE(c.webauthn.enabled());
  EXPECT_EQ(c.webauthn.rp_id, "example.com");
  EXPECT_EQ(c.webauthn.origins, (std::vector<std::string>{"https://sso.example.com", "https://example.com:8443"}));
  EXPECT_EQ(c.webauthn.user_verification, WebauthnConfig::Verification::required);
  EXPECT_EQ(c.webauthn.required_groups, std::vector<std::string>{"admins"});
  EXPECT_EQ(c.webauthn.authfile, "/srv/keys");
  c = parse_ok(with("webauthn", R"({"rp_id": "localhost", "origins": ["http://localhost:8080"]})"));
  EXPECT_EQ(c.webauthn.user_verification, WebauthnConfig::Verification::preferred);
}

TEST(ConfigWebauthn, BadValuesNameTheirKey) {
  expect_error_prefix(with("webauthn", R"({"origins": ["https://a.example"]})"), "webauthn.rp_id: required");
  expect_error_prefix(with("webauthn", R"({"rp_id": "example.com"})"), "webauthn.origins: required");
  expect_error_prefix(with("webauthn", R"({"rp_id": "example.com", "origins": []})"), "webauthn.origins: must name");
  expect_error_prefix(with("webauthn", R"({"rp_id": "https://example.com", "origins": ["https://example.com"]})"),
                      "webauthn.rp_id: \"https://example.com\" is not a host name");
  for (const char* bad : {"http://sso.example.com", "https://sso.example.com/", "https://sso.example.com/login",
                          "sso.example.com", "https://sso.example.com:0", "https://sso.example.com:70000"})
    expect_error_prefix(with("webauthn", std::string(R"({"rp_id": "example.com", "origins": [")") + bad + "\"]}"),
                        "webauthn.origins[0]: \"" + std::string(bad) + "\" is not an origin");
  expect_error_prefix(with("webauthn", R"({"rp_id": "example.com", "origins": ["https://badexample.com"]})"),
                      "webauthn.origins[0]: \"https://badexample.com\" is not on webauthn.rp_id");
  expect_error_prefix(with("webauthn", R"({"rp_id": "example.com", "origins": ["https://example.com"],
                                           "user_verification": "always"})"),
                      "webauthn.user_verification: \"always\" must be");
  expect_error_prefix(with("webauthn", R"({"rp_id": "example.com", "origins": ["https://example.com"],
                                           "authfile": "keys"})"),
                      "webauthn.authfile: must be an absolute path");
  expect_error_prefix(with("webauthn", R"({"rp_id": "example.com", "origins": ["https://example.com"],
                                           "required_groups": "admins"})"),
                      "webauthn.required_groups: must be a list");
  expect_error_prefix(with("webauthn", R"({"rp_id": "example.com", "origins": ["https://example.com"], "mds": []})"),
                      "webauthn.mds: unknown key");
}

// --- webauthn.first_key, tofu_until (issue 23, slice 4) --------------------------------------

TEST(ConfigWebauthn, FirstKeyIsAnInviteUnlessTheAdminSaysOtherwise) {
  const std::string base = R"("rp_id": "example.com", "origins": ["https://example.com"])";
  Config c = parse_ok(with("webauthn", "{" + base + "}"));
  EXPECT_EQ(c.webauthn.first_key, WebauthnConfig::FirstKey::invite);
  EXPECT_EQ(c.webauthn.tofu_until, "");
  c = parse_ok(with("webauthn", "{" + base + R"(, "first_key": "second_factor"})"));
  EXPECT_EQ(c.webauthn.first_key, WebauthnConfig::FirstKey::second_factor);
  c = parse_ok(with("webauthn", "{" + base + R"(, "first_key": "tofu", "tofu_until": "2028-02-29"})"));
  EXPECT_EQ(c.webauthn.first_key, WebauthnConfig::FirstKey::tofu);
  EXPECT_EQ(c.webauthn.tofu_until, "2028-02-29");
}

TEST(ConfigWebauthn, FirstKeyErrorsNameTheKey) {
  const std::string base = R"({"rp_id": "example.com", "origins": ["https://example.com"], )";
  expect_error_prefix(with("webauthn", base + R"("first_key": "password"})"),
                      "webauthn.first_key: \"password\" must be");
  expect_error_prefix(with("webauthn", base + R"("first_key": "tofu"})"), "webauthn.tofu_until: required with");
  expect_error_prefix(with("webauthn", base + R"("tofu_until": "2027-01-31"})"),
                      "webauthn.tofu_until: only with first_key \"tofu\"");
  for (const char* bad : {"2027-02-29", "2027-13-01", "2027-1-31", "31.01.2027", "2027-01-32", "2027-01-00",
                          "1969-12-31", "2027-01-31T00:00"})
    expect_error_prefix(with("webauthn", base + R"("first_key": "tofu", "tofu_until": ")" + bad + "\"}"),
                        "webauthn.tofu_until: \"" + std::string(bad) + "\" is not a date");
}

// --- webauthn.passwordless (issue 23, slice 5) ---------------------------------------------

TEST(ConfigWebauthn, PasswordlessIsOffUnlessTheAdminSaysOtherwise) {
  const std::string base = R"("rp_id": "example.com", "origins": ["https://example.com"])";
  EXPECT_FALSE(parse_ok(with("webauthn", "{" + base + "}")).webauthn.passwordless);
  EXPECT_TRUE(parse_ok(with("webauthn", "{" + base + R"(, "passwordless": true})")).webauthn.passwordless);
  expect_error_prefix(with("webauthn", "{" + base + R"(, "passwordless": "yes"})"), "webauthn.passwordless");
}

// --- webauthn.aaguids: the AAGUID allow-list for enrolment (issue 23, point 3) ---------------

TEST(ConfigWebauthn, AaguidsAreUuidsOfSixteenBytes) {
  const std::string base = R"("rp_id": "example.com", "origins": ["https://example.com"])";
  EXPECT_TRUE(parse_ok(with("webauthn", "{" + base + "}")).webauthn.aaguids.empty());
  auto cfg = parse_ok(with("webauthn", "{" + base + R"(, "aaguids": ["cb69481e-8ff7-4039-93ec-0A2729A154A8"]})"));
  ASSERT_EQ(cfg.webauthn.aaguids.size(), 1u);
  auto bytes = aaguid_bytes(cfg.webauthn.aaguids[0]);
  ASSERT_TRUE(bytes);
  EXPECT_EQ(*bytes, std::string("\xcb\x69\x48\x1e\x8f\xf7\x40\x39\x93\xec\x0a\x27\x29\xa1\x54\xa8", 16));
  for (const char* bad : {"cb69481e8ff7403993ec0a2729a154a8", "cb69481e-8ff7-4039-93ec-0a2729a154a", "",
                          "cb69481e-8ff7-4039-93ec-0a2729a154ag", "cb69481e-8ff7-4039-93ec0-a2729a154a8",
                          "cb69481e-8ff7-4039-93ec-0a2729a154a8 "}) {
    EXPECT_FALSE(aaguid_bytes(bad)) << bad;
    expect_error_prefix(with("webauthn", "{" + base + R"(, "aaguids": [")" + std::string(bad) + R"("]})"),
                        "webauthn.aaguids[0]: ");
  }
  expect_error_prefix(with("webauthn", "{" + base + R"(, "aaguids": "cb69481e-8ff7-4039-93ec-0a2729a154a8"})"),
                      "webauthn.aaguids: must be a list");
}

}  // namespace
}  // namespace zsso
