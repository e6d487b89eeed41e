// SPDX-License-Identifier: BSD-3-Clause
// Runs the micro-benchmarks, then prints ours/libjwt ratios and every target
// of BENCHMARKS.md as met or missed. Exit status 1 when a benchmark failed
// (the smoke test relies on it); timings never change the exit status.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <vector>

namespace {

class SummaryReporter : public benchmark::ConsoleReporter {
 public:
  explicit SummaryReporter(OutputOptions opt) : ConsoleReporter(opt) {}
  std::map<std::string, double> cpu_ns;   // per operation; the median when repeated
  std::map<std::string, bool> from_median;
  std::vector<std::string> failed;
  int repetitions = 1;

  void ReportRuns(const std::vector<Run>& runs) override {
    for (const auto& r : runs) {
      std::string name = r.run_name.str();
      if (r.error_occurred) { failed.push_back(name + ": " + r.error_message); continue; }
      bool median = r.run_type == Run::RT_Aggregate && r.aggregate_name == "median";
      if (r.run_type == Run::RT_Aggregate && !median) continue;
      if (!median && from_median[name]) continue;
      if (r.repetitions > repetitions) repetitions = static_cast<int>(r.repetitions);
      cpu_ns[name] = r.GetAdjustedCPUTime() / benchmark::GetTimeUnitMultiplier(r.time_unit) * 1e9;
      from_median[name] = median;
    }
    ConsoleReporter::ReportRuns(runs);
  }

  const double* get(const std::string& name) const {
    auto it = cpu_ns.find(name);
    return it == cpu_ns.end() ? nullptr : &it->second;
  }
};

std::string human(double ns) {
  char buf[32];
  if (ns >= 1e6) std::snprintf(buf, sizeof buf, "%.2f ms", ns / 1e6);
  else if (ns >= 1e3) std::snprintf(buf, sizeof buf, "%.2f us", ns / 1e3);
  else std::snprintf(buf, sizeof buf, "%.1f ns", ns);
  return buf;
}

void target(const char* what, bool measured, bool met, const std::string& figure) {
  std::printf("  [%s] %-46s %s\n", !measured ? "n/a   " : met ? "met   " : "MISSED", what,
              measured ? figure.c_str() : "not measured in this run (filtered out?)");
}

void print_summary(const SummaryReporter& rep) {
  std::printf("\nSummary: CPU time per operation, %s\n",
              rep.repetitions > 1 ? ("median of " + std::to_string(rep.repetitions) + " repetitions").c_str()
                                  : "one repetition (use --benchmark_repetitions=5 for medians)");
  std::printf("  %-34s %12s %12s %16s\n", "operation", "zsso", "libjwt", "libjwt / zsso");
  struct Pair { const char* label; const char* ours; const char* theirs; };
  const Pair pairs[] = {
      {"mint (claims + jti + sign)", "jwt/mint/zsso", "jwt/mint/libjwt"},
      {"mint_token (key set up per token)", "jwt/mint_token/zsso", "jwt/mint/libjwt"},
      {"sign (claims ready)", "jwt/sign/zsso", "jwt/sign/libjwt"},
      {"verify (signature + iat)", "jwt/verify/zsso", "jwt/verify/libjwt"},
  };
  for (const auto& p : pairs) {
    const double* a = rep.get(p.ours);
    const double* b = rep.get(p.theirs);
    if (!a || !b) continue;
    std::printf("  %-34s %12s %12s %15.2fx\n", p.label, human(*a).c_str(), human(*b).c_str(), *b / *a);
  }
  if (const double* floor = rep.get("jwt/hmac_sha256_oneshot/openssl")) {
    std::printf("  floor: one-shot HMAC-SHA256 of the same signing input %s", human(*floor).c_str());
    if (const double* m = rep.get("jwt/mint/zsso")) std::printf("; mint = %.2fx the floor", *m / *floor);
    std::printf("\n");
  }

  std::printf("\nTargets (BENCHMARKS.md)\n");
  const double* mint = rep.get("jwt/mint/zsso");
  const double* mint_lib = rep.get("jwt/mint/libjwt");
  const double* ver = rep.get("jwt/verify/zsso");
  const double* ver_lib = rep.get("jwt/verify/libjwt");
  target("mint <= 3 us per token", mint, mint && *mint <= 3000, mint ? human(*mint) : "");
  char buf[96];
  if (mint && mint_lib) std::snprintf(buf, sizeof buf, "%.2fx faster", *mint_lib / *mint);
  target("mint >= 2x faster than libjwt", mint && mint_lib, mint && mint_lib && *mint_lib / *mint >= 2, buf);
  if (ver && ver_lib) std::snprintf(buf, sizeof buf, "%.2fx faster", *ver_lib / *ver);
  target("verify >= 2x faster than libjwt", ver && ver_lib, ver && ver_lib && *ver_lib / *ver >= 2, buf);
  double worst = 0;
  std::string worst_name;
  for (const char* kind : {"v4_hit", "v4_miss", "v6_hit", "v6_miss"}) {
    std::string name = std::string("cidr/contains/") + kind + "/10000";
    if (const double* v = rep.get(name); v && *v > worst) { worst = *v; worst_name = kind; }
  }
  target("CIDR lookup over 10,000 ranges <= 200 ns", worst > 0, worst <= 200,
         "slowest " + human(worst) + " (" + worst_name + ")");
}

}  // namespace

int main(int argc, char** argv) {
  bool summary = true;
  bool color = ::isatty(STDOUT_FILENO) == 1;   // like Google Benchmark's own console reporter
  std::vector<char*> args;
  for (int i = 0; i < argc; ++i) {
    if (std::strcmp(argv[i], "--no-summary") == 0) summary = false;
    else args.push_back(argv[i]);
    if (std::strcmp(argv[i], "--benchmark_color=false") == 0) color = false;
    if (std::strcmp(argv[i], "--benchmark_color=true") == 0) color = true;
  }
  int n = static_cast<int>(args.size());
  benchmark::Initialize(&n, args.data());
  if (benchmark::ReportUnrecognizedArguments(n, args.data())) return 2;
  SummaryReporter rep(color ? benchmark::ConsoleReporter::OO_ColorTabular : benchmark::ConsoleReporter::OO_Tabular);
  benchmark::RunSpecifiedBenchmarks(&rep);
  benchmark::Shutdown();
  if (summary) print_summary(rep);
  for (const auto& f : rep.failed) std::fprintf(stderr, "bench_micro: FAILED %s\n", f.c_str());
  return rep.failed.empty() ? 0 : 1;
}
