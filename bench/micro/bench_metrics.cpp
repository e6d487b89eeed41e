// SPDX-License-Identifier: BSD-3-Clause
// What issue 24 adds to a decision: the audit event's line (text, JSON) and
// the metrics' count - in the CGI a counter file opened, mapped, added to
// and closed per decision; in the broker an add to a file mapped once.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "zsso/audit.hpp"
#include "zsso/metrics.hpp"

namespace zsso::bench {
namespace {

audit::Event event() {
  audit::Event ev;
  ev.time = 1796606523;
  ev.request_id = "AbCdEfGh";
  ev.way = audit::Way::password;
  ev.outcome = audit::Outcome::bad_login;
  ev.account = "alice";
  ev.client = "192.0.2.7";
  ev.cause = "PAM service zendesk-sso: pam_authenticate: Authentication failure";
  return ev;
}

const std::string kLine =
    "req=AbCdEfGh \"POST\" \"/zendesk/login\": 401 bad login user=\"alice\": PAM service zendesk-sso: "
    "pam_authenticate: Authentication failure client=192.0.2.7";

std::string counter_path() {
  static const std::string path = [] {
    char tmpl[] = "/tmp/zsso-bench-metrics-XXXXXX";
    const char* dir = ::mkdtemp(tmpl);
    return std::string(dir ? dir : "/tmp") + "/cgi";
  }();
  return path;
}

void BM_RenderText(benchmark::State& st) {
  const audit::Event ev = event();
  for (auto _ : st) benchmark::DoNotOptimize(audit::render(kLine, ev, LogFormat::text, "zendesk-sso.cgi"));
}
BENCHMARK(BM_RenderText)->Name("audit/render/text");

void BM_RenderJson(benchmark::State& st) {
  const audit::Event ev = event();
  for (auto _ : st) benchmark::DoNotOptimize(audit::render(kLine, ev, LogFormat::json, "zendesk-sso.cgi"));
}
BENCHMARK(BM_RenderJson)->Name("audit/render/json");

// The CGI, one process per request: open + mmap + add + munmap + close.
void BM_CgiCount(benchmark::State& st) {
  const audit::Event ev = event();
  for (auto _ : st) {
    metrics::Writer w;
    if (!w.open(counter_path())) st.SkipWithError("cannot open the counter file");
    w.count(ev, 0);
  }
}
BENCHMARK(BM_CgiCount)->Name("metrics/cgi_decision");

// The broker: the file is mapped by the listener; a child only adds.
void BM_BrokerCount(benchmark::State& st) {
  const audit::Event ev = event();
  metrics::Writer w;
  if (!w.open(counter_path())) st.SkipWithError("cannot open the counter file");
  for (auto _ : st) w.count(ev, 0, 2100);
}
BENCHMARK(BM_BrokerCount)->Name("metrics/broker_decision");

// A scrape: both files read and the exposition written.
void BM_Exposition(benchmark::State& st) {
  for (auto _ : st)
    benchmark::DoNotOptimize(metrics::exposition(metrics::read(counter_path(), {counter_path()}), {"agents"}));
}
BENCHMARK(BM_Exposition)->Name("metrics/scrape");

}  // namespace
}  // namespace zsso::bench
