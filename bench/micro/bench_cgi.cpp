// SPDX-License-Identifier: BSD-3-Clause
// The CGI's in-process work (helper/cgi): login form render, CSRF tokens, and
// a whole GET /login through handle_request with real files - what one CGI
// process computes once exec and dynamic linking are done.
#include <benchmark/benchmark.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "csrf.hpp"
#include "fixtures.hpp"
#include "pages.hpp"
#include "response.hpp"
#include "routes.hpp"

namespace zsso::bench {
namespace {

void BM_LoginFormPage(benchmark::State& st) {
  cgi::PageFrame frame{"Acme intranet", "AbCdEfGh"};
  cgi::LoginForm form{"/zendesk/login", "MTcwMDAwMDAwMC5hYmNkZWYwMTIzNDU2Nzg5Q2hlY2tzdW1PZlRoZUNzcmY",
                      "https://acme.zendesk.com/hc/en-us/articles/360001234567", "", ""};
  std::size_t size = 0;
  for (auto _ : st) {
    auto page = cgi::login_form_page(frame, form);
    size = page.size();
    benchmark::DoNotOptimize(page.data());
  }
  st.counters["page_bytes"] = static_cast<double>(size);
}
BENCHMARK(BM_LoginFormPage)->Name("cgi/login_form_page");

void BM_CsrfIssue(benchmark::State& st) {
  for (auto _ : st) {
    auto t = cgi::new_csrf_token();
    if (!t) return st.SkipWithError(t.error().c_str());
    benchmark::DoNotOptimize(t->data());
  }
}
BENCHMARK(BM_CsrfIssue)->Name("cgi/csrf/issue");

void BM_CsrfCheck(benchmark::State& st) {
  auto t = cgi::new_csrf_token();
  if (!t) return st.SkipWithError(t.error().c_str());
  std::vector<std::string_view> cookies{*t};
  for (auto _ : st) {
    auto c = cgi::check_csrf(cookies, *t);
    if (c != cgi::CsrfCheck::ok) return st.SkipWithError("CSRF check failed");
    benchmark::DoNotOptimize(c);
  }
}
BENCHMARK(BM_CsrfCheck)->Name("cgi/csrf/check");

// A private folder with examples/config-full.json pointing at a secret file, both
// with the modes load_config / load_secret_file insist on; removed at exit.
struct Files {
  std::string dir;
  Files() {
    char tmpl[] = "/tmp/zsso-bench-XXXXXX";
    if (!::mkdtemp(tmpl)) { std::perror("bench_micro: mkdtemp"); std::exit(2); }
    dir = tmpl;
    std::string secret_path = dir + "/secret";
    std::ofstream(secret_path) << secret().view() << "\n";
    ::chmod(secret_path.c_str(), 0600);
    auto j = nlohmann::ordered_json::parse(example_config_text(), nullptr, true, /*ignore_comments=*/true);
    j["zendesk"]["secret_file"] = secret_path;
    j["profiles"]["agents"]["zendesk"]["secret_file"] = secret_path;
    j["network"]["ip_ranges"] = {"127.0.0.0/8"};
    // Direct mode: GET /login first checks that a sign-in could work (issue 25.11),
    // here by reading the secret; broker mode would ping a broker this bench has not.
    j["broker"]["socket"] = "";
    std::ofstream(config_path()) << j.dump(2);
    ::chmod(config_path().c_str(), 0644);
  }
  ~Files() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  std::string config_path() const { return dir + "/config.json"; }
};

// GET /login as Zendesk sends the browser: config and secret loaded from
// disk, client address checked, return_to validated, CSRF token issued, page
// rendered and headers built.
void BM_HandleGetLogin(benchmark::State& st) {
  static const Files files;
  cgi::Environment env;
  env.config_path = files.config_path();
  env.request_id = "AbCdEfGh";
  env.now = kNow;
  for (auto _ : st) {
    cgi::Request req;
    req.method = "GET";
    req.script_name = "/zendesk";
    req.path_info = "/login";
    req.query = "return_to=https%3A%2F%2Facme.zendesk.com%2Fhc%2Fen-us&brand_id=360000123456";
    req.remote_addr = "127.0.0.1";
    auto r = cgi::handle_request(req, env);
    if (r.status != 200)
      return st.SkipWithError(("GET /login answered " + std::to_string(r.status) + ": " + r.log_message).c_str());
    auto out = cgi::serialize(r);
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_HandleGetLogin)->Name("cgi/handle_request/get_login");

}  // namespace
}  // namespace zsso::bench
