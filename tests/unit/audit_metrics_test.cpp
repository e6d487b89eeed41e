// SPDX-License-Identifier: BSD-3-Clause
// audit.hpp (the event's names and forms) and metrics.hpp (the counter
// files and their exposition), issue 24.
#include <sys/stat.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <filesystem>
#include <string>

#include "zsso/audit.hpp"
#include "zsso/config.hpp"
#include "zsso/metrics.hpp"

namespace zsso {
namespace {

audit::Event sample() {
  audit::Event ev;
  ev.time = 1796606523;   // 2026-12-07T01:22:03Z
  ev.request_id = "AbCdEfGh";
  ev.way = audit::Way::password;
  ev.outcome = audit::Outcome::bad_login;
  ev.account = "unknown(12 bytes)";
  ev.client = "192.0.2.7";
  ev.profile = "agents";
  ev.cause = "PAM service zendesk-sso: pam_authenticate: \"Authentication failure\"\n";
  return ev;
}

TEST(AuditEvent, NamesAreDistinctAndStable) {
  std::set<std::string_view> names;
  for (auto o : audit::kAllOutcomes) names.insert(audit::name(o));
  EXPECT_EQ(names.size(), audit::kOutcomes);
  EXPECT_EQ(audit::name(audit::Outcome::bad_login), "bad_login");
  EXPECT_EQ(audit::name(audit::Way::multi_step), "multi_step");
  EXPECT_EQ(audit::name(audit::Way::key), "key");
  std::set<std::string_view> ways;
  for (auto w : audit::kAllWays) ways.insert(audit::name(w));
  EXPECT_EQ(ways.size(), audit::kWays);
  for (std::size_t i = 0; i < audit::kOutcomes; ++i) EXPECT_EQ(static_cast<std::size_t>(audit::kAllOutcomes[i]), i);
  for (std::size_t i = 0; i < audit::kWays; ++i) EXPECT_EQ(static_cast<std::size_t>(audit::kAllWays[i]), i);
}

TEST(AuditEvent, TextIsTodaysLineWithWayAndOutcome) {
  EXPECT_EQ(audit::render("401 bad login user=unknown(12 bytes)", sample(), LogFormat::text, "x"),
            "401 bad login user=unknown(12 bytes) way=password outcome=bad_login");
}

TEST(AuditEvent, JsonIsOneObjectOnOneLineWithEveryField) {
  const std::string line = audit::render("the message", sample(), LogFormat::json, "zendesk-sso.cgi");
  EXPECT_EQ(line.find('\n'), std::string::npos);
  auto j = nlohmann::json::parse(line);
  EXPECT_EQ(j["time"], "2026-12-07T01:22:03Z");
  EXPECT_EQ(j["process"], "zendesk-sso.cgi");
  EXPECT_EQ(j["request_id"], "AbCdEfGh");
  EXPECT_EQ(j["way"], "password");
  EXPECT_EQ(j["outcome"], "bad_login");
  EXPECT_EQ(j["account"], "unknown(12 bytes)");
  EXPECT_EQ(j["client"], "192.0.2.7");
  EXPECT_EQ(j["profile"], "agents");
  EXPECT_EQ(j["cause"], sample().cause);
  EXPECT_EQ(j["message"], "the message");
  // Bytes that are not UTF-8 do not throw.
  audit::Event odd = sample();
  odd.cause = "\xff\xfe";
  EXPECT_NO_THROW(nlohmann::json::parse(audit::render("m", odd, LogFormat::json, "x")));
}

TEST(AuditEvent, JournalFieldsNameTheOutcome) {
  auto f = audit::journal_fields(sample());
  EXPECT_NE(std::find(f.begin(), f.end(), "ZENDESK_SSO_OUTCOME=bad_login"), f.end());
  EXPECT_NE(std::find(f.begin(), f.end(), "ZENDESK_SSO_WAY=password"), f.end());
  EXPECT_NE(std::find(f.begin(), f.end(), "ZENDESK_SSO_ACCOUNT=unknown(12 bytes)"), f.end());
  audit::Event bare;
  bare.outcome = audit::Outcome::busy;
  EXPECT_EQ(audit::journal_fields(bare).size(), 2u) << "empty fields are left out";
}

TEST(AuditEvent, UnknownAccountsAreOnlyALength) {
  EXPECT_EQ(audit::account_for_event("no-such-user-zsso"), "unknown(17 bytes)");
  EXPECT_EQ(audit::account_for_event("root"), "root");
  EXPECT_EQ(audit::account_for_event(""), "");
}

TEST(LogConfig, FormatIsTextOrJson) {
  const std::string base = R"({"zendesk": {"subdomain": "acme", "secret_file": "/etc/zendesk-sso/secret"})";
  auto text = parse_config(base + "}");
  ASSERT_TRUE(text) << text.error();
  EXPECT_EQ(text->log.format, LogFormat::text);
  auto json = parse_config(base + R"(, "log": {"format": "json"}})");
  ASSERT_TRUE(json) << json.error();
  EXPECT_EQ(json->log.format, LogFormat::json);
  auto bad = parse_config(base + R"(, "log": {"format": "xml"}})");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().find("log.format"), std::string::npos) << bad.error();
  auto m = parse_config(base + R"(, "metrics": {"enabled": true, "scrapers": ["10.0.0.0/8"], "cgi_file": "rel"}})");
  ASSERT_FALSE(m);
  EXPECT_NE(m.error().find("metrics.cgi_file"), std::string::npos) << m.error();
  auto sf = parse_config(base + R"(, "metrics": {"sync_file": "rel"}})");
  ASSERT_FALSE(sf);
  EXPECT_NE(sf.error().find("metrics.sync_file"), std::string::npos) << sf.error();
  auto sd = parse_config(base + "}");
  ASSERT_TRUE(sd) << sd.error();
  EXPECT_EQ(sd->metrics.sync_file, "/var/lib/zendesk-sso/metrics/sync");
}

class CounterFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/zsso-metrics-XXXXXX";
    ASSERT_TRUE(::mkdtemp(tmpl));
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_;
};

TEST_F(CounterFiles, TwoWritersAreSummedAndExposed) {
  {
    metrics::Writer broker, cgi;
    ASSERT_TRUE(broker.open(dir_ + "/broker"));
    ASSERT_TRUE(cgi.open(dir_ + "/cgi"));
    audit::Event ok = sample();
    ok.outcome = audit::Outcome::signed_in;
    broker.count(ok, 1, 300);
    broker.count(sample(), 0, 2100);
    broker.set_gauges(3, 10, 2);
    audit::Event out = sample();
    out.way = audit::Way::unknown;
    out.outcome = audit::Outcome::outside_ranges;
    cgi.count(out, 0);
  }
  metrics::Writer again;   // reopened: the counts stay
  ASSERT_TRUE(again.open(dir_ + "/cgi"));
  again.count(sample(), 0);
  auto t = metrics::read(dir_ + "/broker", {dir_ + "/cgi", dir_ + "/missing"});
  ASSERT_TRUE(t.broker_present);
  const std::string text = metrics::exposition(t, {"agents"});
  EXPECT_NE(text.find("zendesk_sso_sign_ins_total{way=\"password\",outcome=\"signed_in\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("zendesk_sso_sign_ins_total{way=\"password\",outcome=\"bad_login\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("zendesk_sso_sign_ins_total{way=\"unknown\",outcome=\"outside_ranges\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("zendesk_sso_tokens_minted_total{profile=\"agents\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("zendesk_sso_broker_sign_in_duration_seconds_bucket{le=\"0.5\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("zendesk_sso_broker_sign_in_duration_seconds_bucket{le=\"2.5\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("zendesk_sso_broker_sign_in_duration_seconds_count 2\n"), std::string::npos);
  EXPECT_NE(text.find("zendesk_sso_broker_sign_in_duration_seconds_sum 2.400\n"), std::string::npos);
  EXPECT_NE(text.find("zendesk_sso_broker_slots_left 7\n"), std::string::npos);
  EXPECT_NE(text.find("zendesk_sso_broker_sign_ins_in_progress 3\n"), std::string::npos);
  EXPECT_NE(text.find("zendesk_sso_broker_conversations_in_progress 2\n"), std::string::npos);
  // The throttle off (capacity 0) and no sync file: neither is shown.
  EXPECT_EQ(text.find("zendesk_sso_throttle_"), std::string::npos) << text;
  EXPECT_EQ(text.find("zendesk_sso_sync_"), std::string::npos) << text;
}

TEST_F(CounterFiles, TheThrottleGaugesAreTheBrokers) {
  {
    metrics::Writer broker;
    ASSERT_TRUE(broker.open(dir_ + "/broker"));
    broker.set_throttle({5, 40, 2, 1});
  }
  const std::string text = metrics::exposition(metrics::read(dir_ + "/broker", {}), {});
  EXPECT_NE(text.find("zendesk_sso_throttle_banned{tally=\"account_address\"} 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("zendesk_sso_throttle_banned{tally=\"address\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("zendesk_sso_throttle_tallies 5\n"), std::string::npos);
  EXPECT_NE(text.find("zendesk_sso_throttle_tallies_capacity 40\n"), std::string::npos);
}

TEST_F(CounterFiles, TheSyncsLastRunIsItsFilesNotASum) {
  const std::string sync = dir_ + "/sync";
  {
    // The package makes the file (empty) and the unit only writes it.
    metrics::Writer none;
    EXPECT_FALSE(none.open(sync, 0664, false));
    FILE* f = std::fopen(sync.c_str(), "w");
    std::fclose(f);
    ::chmod(sync.c_str(), 0664);
  }
  EXPECT_EQ(metrics::exposition(metrics::read({}, {}, sync), {}).find("zendesk_sso_sync_"), std::string::npos)
      << "no run yet: nothing shown";
  {
    metrics::Writer w;
    ASSERT_TRUE(w.open(sync, 0664, false));
    w.record_sync(1700000000, 3, 1, false);
    w.record_sync(1700000600, 0, 0, true);   // the last run replaces the one before
  }
  struct stat st {};
  ASSERT_EQ(::stat(sync.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0664u) << "still writable by the unit's group";
  const std::string text = metrics::exposition(metrics::read({}, {}, sync), {});
  EXPECT_NE(text.find("zendesk_sso_sync_last_run_timestamp_seconds 1700000600\n"), std::string::npos) << text;
  EXPECT_NE(text.find("zendesk_sso_sync_last_run_changes 0\n"), std::string::npos);
  EXPECT_NE(text.find("zendesk_sso_sync_last_run_failures 0\n"), std::string::npos);
  EXPECT_NE(text.find("zendesk_sso_sync_last_run_braked 1\n"), std::string::npos);
}

TEST_F(CounterFiles, TheFileIsReadableByTheScraperWhateverTheUmask) {
  // The broker's unit has UMask=0077; /metrics runs as the web server's user.
  const mode_t old = ::umask(077);
  metrics::Writer w;
  const bool opened = static_cast<bool>(w.open(dir_ + "/broker"));
  ::umask(old);
  ASSERT_TRUE(opened);
  struct stat st {};
  ASSERT_EQ(::stat((dir_ + "/broker").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0644u);
}

TEST_F(CounterFiles, AFileOfAnotherLayoutStartsAgain) {
  {
    FILE* f = std::fopen((dir_ + "/cgi").c_str(), "w");
    std::fputs("not a counter file", f);
    std::fclose(f);
  }
  auto before = metrics::read({}, {dir_ + "/cgi"});
  EXPECT_EQ(before.sum.sign_ins[1][1], 0u);
  metrics::Writer w;
  ASSERT_TRUE(w.open(dir_ + "/cgi"));
  w.count(sample(), 0);
  auto t = metrics::read({}, {dir_ + "/cgi"});
  EXPECT_EQ(t.sum.sign_ins[static_cast<int>(audit::Way::password)][static_cast<int>(audit::Outcome::bad_login)], 1u);
  EXPECT_FALSE(t.broker_present);
}

}  // namespace
}  // namespace zsso
