// bench_policy: per-evaluation cost of a Kubewarden policy with a fresh instance every time.
// SPDX-License-Identifier: Apache-2.0
//
// Evaluates like policy-server: one decoded module, and for every request a brand-new store and
// instance, then `validate`. The evaluator reports how long setting up the instance, running the
// guest and dropping the instance took (EvalDiagnostics); the total is timed around
// kubewarden::evaluate() and so also holds the JSON encoding of the request and the decoding of
// the response. Requests alternate between the documents given, so both the rejecting and the
// accepting path are exercised.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <boost/json.hpp>

#include "hostabi/kubewarden/evaluator.hpp"

namespace tollgate::bench {
namespace {

namespace json = boost::json;
namespace kw = hostabi::kubewarden;

bool read_file(const std::string& path, std::string& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return false;
  out.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return true;
}

struct Samples {
  const char* name;
  std::vector<double> us;

  void print() {
    std::sort(us.begin(), us.end());
    double sum = 0;
    for (double v : us)
      sum += v;
    auto pct = [&](double p) { return us[std::min(us.size() - 1, size_t(p * double(us.size())))]; };
    std::printf("%-14s mean %8.2f us  p50 %8.2f us  p99 %8.2f us  min %8.2f us\n", name,
                sum / double(us.size()), pct(0.50), pct(0.99), us.front());
  }
};

double micros(std::chrono::nanoseconds d) {
  return double(d.count()) / 1000.0;
}

}  // namespace
}  // namespace tollgate::bench

int main(int argc, char** argv) {
  using namespace tollgate::bench;
  CLI::App app{"Times Kubewarden policy evaluations, a fresh instance each (policy-server style)"};
  std::string policy_path = TG_BENCH_POLICY;
  std::vector<std::string> reviews = {TG_BENCH_FIXTURES "/review_pod_privileged.json",
                                      TG_BENCH_FIXTURES "/review_pod_unprivileged.json"};
  uint32_t n = 20000;
  uint32_t warmup = 200;
  app.add_option("--policy", policy_path, "the policy .wasm (waPC or WASI)");
  app.add_option("--review", reviews, "AdmissionReview JSON files, evaluated in turn");
  app.add_option("-n,--iterations", n, "evaluations timed")->check(CLI::Range(1u, 100'000'000u));
  app.add_option("--warmup", warmup, "evaluations run first and not timed");
  CLI11_PARSE(app, argc, argv);

  std::string wasm;
  if (!read_file(policy_path, wasm)) {
    std::fprintf(stderr, "cannot read %s\n", policy_path.c_str());
    return 1;
  }
  auto policy = kw::load_policy(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(wasm.data()), wasm.size()));
  if (!policy) {
    std::fprintf(stderr, "cannot load %s: %s\n", policy_path.c_str(),
                 policy.error().message.c_str());
    return 1;
  }
  std::vector<json::value> requests;
  for (const std::string& path : reviews) {
    std::string text;
    if (!read_file(path, text)) {
      std::fprintf(stderr, "cannot read %s\n", path.c_str());
      return 1;
    }
    json::value review = json::parse(text);
    requests.push_back(review.as_object().contains("request") ? review.at("request") : review);
  }
  const json::value settings = json::object();

  // Every document is answered the same way each time; the first answers are printed so a
  // broken policy cannot pass for a fast one.
  std::vector<bool> expected;
  for (size_t i = 0; i < requests.size(); ++i) {
    kw::ValidationResponse r = kw::evaluate(**policy, requests[i], settings);
    expected.push_back(r.accepted);
    std::printf("%s: accepted=%s%s%s\n", reviews[i].c_str(), r.accepted ? "true" : "false",
                r.message ? " message=" : "", r.message ? r.message->c_str() : "");
  }

  Samples inst{"instantiate", {}}, run{"evaluate", {}}, teardown{"teardown", {}},
      fresh{"inst+teardown", {}}, total{"total", {}};
  for (Samples* s : {&inst, &run, &teardown, &fresh, &total})
    s->us.reserve(n);
  for (uint32_t i = 0; i < warmup + n; ++i) {
    const size_t which = i % requests.size();
    kw::EvalDiagnostics diag;
    kw::EvalOptions options;
    options.diagnostics = &diag;
    auto t0 = std::chrono::steady_clock::now();
    kw::ValidationResponse r = kw::evaluate(**policy, requests[which], settings, options);
    auto t1 = std::chrono::steady_clock::now();
    if (r.accepted != expected[which]) {
      std::fprintf(stderr, "evaluation %u of %s changed its answer\n", i, reviews[which].c_str());
      return 1;
    }
    if (i < warmup)
      continue;
    inst.us.push_back(micros(diag.instantiate_time));
    run.us.push_back(micros(diag.run_time));
    teardown.us.push_back(micros(diag.teardown_time));
    fresh.us.push_back(micros(diag.instantiate_time + diag.teardown_time));
    total.us.push_back(micros(t1 - t0));
  }
  std::printf("%u evaluations, fresh instance each:\n", n);
  for (Samples* s : {&inst, &run, &teardown, &fresh, &total})
    s->print();
  return 0;
}
