// `tollgate run` and `tollgate bench`: evaluate one policy on one request, once or many times.
// SPDX-License-Identifier: Apache-2.0
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

#include <boost/json/serialize.hpp>

#include "hostabi/kubewarden/session.hpp"
#include "server/cli/engine_option.hpp"
#include "server/cli/policy_command.hpp"

namespace tollgate::server::cli {
namespace {

namespace json = boost::json;
namespace kw = hostabi::kubewarden;
using std::chrono::nanoseconds;

/// Kubernetes' own cap on a session file is irrelevant; this only bounds what we read.
constexpr size_t kMaxSessionBytes = 64u << 20;

void warn_context_aware(const RunFlags& flags, const kw::PolicyModule& policy) {
  if (!policy.has_metadata)
    std::fprintf(stderr, "tollgate: warning: %s has no io.kubewarden.metadata section\n",
                 flags.policy.c_str());
  if (!flags.allow_context_aware && !policy.metadata.context_aware_resources.empty())
    std::fprintf(stderr,
                 "tollgate: warning: the policy reads Kubernetes resources "
                 "(contextAwareResources); they are denied without --allow-context-aware\n");
}

/// kwctl's refusal, or nullopt when the settings are valid.
std::optional<std::string> settings_problem(const kw::SettingsValidationResponse& r) {
  if (r.valid)
    return std::nullopt;
  return "Provided settings are not valid: " + r.message.value_or("");
}

std::optional<std::string> read_session(const RunFlags& flags) {
  if (!flags.replay_path)
    return std::string();
  return read_text(*flags.replay_path, kMaxSessionBytes);
}

struct Stats {
  double mean_us = 0;
  double p50_us = 0;
  double p99_us = 0;
  double min_us = 0;
  double max_us = 0;
};

/// Nearest-rank percentiles over the samples (sorted in place).
Stats summarise(std::vector<nanoseconds>& samples) {
  Stats s;
  if (samples.empty())
    return s;
  std::sort(samples.begin(), samples.end());
  auto us = [](nanoseconds d) { return static_cast<double>(d.count()) / 1000.0; };
  auto rank = [&](double p) {
    size_t i = static_cast<size_t>(p * static_cast<double>(samples.size()) + 0.999999);
    return samples[std::clamp<size_t>(i, 1, samples.size()) - 1];
  };
  double sum = 0;
  for (nanoseconds d : samples)
    sum += us(d);
  s.mean_us = sum / static_cast<double>(samples.size());
  s.p50_us = us(rank(0.50));
  s.p99_us = us(rank(0.99));
  s.min_us = us(samples.front());
  s.max_us = us(samples.back());
  return s;
}

/// The samples of one benchmarked operation.
struct OpSamples {
  const char* name;
  std::vector<nanoseconds> instantiate;
  std::vector<nanoseconds> teardown;
  std::vector<nanoseconds> run;
  std::vector<nanoseconds> total;
};

json::object stats_json(const Stats& s) {
  return {{"mean_us", s.mean_us},
          {"p50_us", s.p50_us},
          {"p99_us", s.p99_us},
          {"min_us", s.min_us},
          {"max_us", s.max_us}};
}

}  // namespace

int run_policy(const RunFlags& flags) {
  auto inputs = prepare_inputs(flags);
  if (!inputs)
    return kPolicyExitFailed;
  warn_context_aware(flags, *inputs->policy);

  kw::InteractionRecorder recorder;
  std::optional<kw::InteractionReplayer> replayer;
  if (flags.replay_path) {
    auto loaded = kw::InteractionReplayer::load(*flags.replay_path);
    if (!loaded) {
      std::fprintf(stderr, "tollgate: %s: %s\n", flags.replay_path->c_str(),
                   loaded.error().message.c_str());
      return kPolicyExitFailed;
    }
    replayer.emplace(std::move(loaded).value());
  }
  kw::EvalOptions options = cli_eval_options(
      flags, *inputs, flags.record_path ? &recorder : nullptr, replayer ? &*replayer : nullptr);

  auto save_recording = [&]() {
    if (!flags.record_path)
      return true;
    if (auto saved = recorder.save(*flags.record_path); !saved) {
      std::fprintf(stderr, "tollgate: %s: %s\n", flags.record_path->c_str(),
                   saved.error().message.c_str());
      return false;
    }
    return true;
  };

  kw::SettingsValidationResponse settings =
      kw::validate_settings(*inputs->policy, inputs->settings, options);
  if (auto problem = settings_problem(settings)) {
    std::fprintf(stderr, "tollgate: %s\n", problem->c_str());
    save_recording();
    return kPolicyExitFailed;
  }
  kw::ValidationResponse response =
      kw::evaluate(*inputs->policy, inputs->request, inputs->settings, options);
  std::printf("%s\n", json::serialize(cli_admission_response(response, *inputs)).c_str());
  std::fflush(stdout);
  return save_recording() ? kPolicyExitOk : kPolicyExitFailed;
}

int bench_policy(const RunFlags& flags, const BenchFlags& bench) {
  auto inputs = prepare_inputs(flags);
  if (!inputs)
    return kPolicyExitFailed;
  warn_context_aware(flags, *inputs->policy);
  auto session = read_session(flags);
  if (!session)
    return kPolicyExitFailed;

  kw::InteractionRecorder recorder;
  OpSamples settings_op{"validate_settings", {}, {}, {}, {}};
  OpSamples validate_op{"validate", {}, {}, {}, {}};
  std::optional<kw::ValidationResponse> first_response;
  const uint32_t rounds = bench.warm_up + bench.iterations;
  for (uint32_t i = 0; i < rounds; ++i) {
    // A recorded session is consumed by one evaluation pair: replay it afresh each round, and
    // record only the first round.
    std::optional<kw::InteractionReplayer> replayer;
    if (flags.replay_path) {
      auto parsed = kw::InteractionReplayer::parse(*session);
      if (!parsed) {
        std::fprintf(stderr, "tollgate: %s: %s\n", flags.replay_path->c_str(),
                     parsed.error().message.c_str());
        return kPolicyExitFailed;
      }
      replayer.emplace(std::move(parsed).value());
    }
    kw::EvalOptions options =
        cli_eval_options(flags, *inputs, flags.record_path && i == 0 ? &recorder : nullptr,
                         replayer ? &*replayer : nullptr);
    const bool measured = i >= bench.warm_up;

    kw::EvalDiagnostics sd;
    options.diagnostics = &sd;
    auto t0 = std::chrono::steady_clock::now();
    kw::SettingsValidationResponse settings =
        kw::validate_settings(*inputs->policy, inputs->settings, options);
    auto t1 = std::chrono::steady_clock::now();
    if (auto problem = settings_problem(settings)) {
      std::fprintf(stderr, "tollgate: %s\n", problem->c_str());
      return kPolicyExitFailed;
    }
    kw::EvalDiagnostics vd;
    options.diagnostics = &vd;
    kw::ValidationResponse response =
        kw::evaluate(*inputs->policy, inputs->request, inputs->settings, options);
    auto t2 = std::chrono::steady_clock::now();
    if (!first_response)
      first_response = response;
    if (!measured)
      continue;
    settings_op.instantiate.push_back(sd.instantiate_time);
    settings_op.teardown.push_back(sd.teardown_time);
    settings_op.run.push_back(sd.run_time);
    settings_op.total.push_back(t1 - t0);
    validate_op.instantiate.push_back(vd.instantiate_time);
    validate_op.teardown.push_back(vd.teardown_time);
    validate_op.run.push_back(vd.run_time);
    validate_op.total.push_back(t2 - t1);
  }
  if (flags.record_path) {
    if (auto saved = recorder.save(*flags.record_path); !saved) {
      std::fprintf(stderr, "tollgate: %s: %s\n", flags.record_path->c_str(),
                   saved.error().message.c_str());
      return kPolicyExitFailed;
    }
  }

  const json::object answer = cli_admission_response(*first_response, *inputs);
  if (bench.output == "json") {
    json::object report{{"policy", flags.policy},
                        {"engine", engine_name(inputs->engine)},
                        {"iterations", bench.iterations},
                        {"warm_up", bench.warm_up},
                        {"response", answer}};
    for (OpSamples* op : {&settings_op, &validate_op}) {
      report[op->name] = json::object{{"instantiate", stats_json(summarise(op->instantiate))},
                                      {"teardown", stats_json(summarise(op->teardown))},
                                      {"evaluate", stats_json(summarise(op->run))},
                                      {"total", stats_json(summarise(op->total))}};
    }
    std::printf("%s\n", json::serialize(report).c_str());
    return kPolicyExitOk;
  }
  std::printf("%s: %u iterations after %u warm-up, a fresh instance each, engine %s\n",
              flags.policy.c_str(), bench.iterations, bench.warm_up,
              engine_name(inputs->engine).c_str());
  std::printf("response: %s\n", json::serialize(answer).c_str());
  std::printf(
      "instantiate: store and instance set-up; evaluate: guest initialisation and the call;\n"
      "teardown: dropping the store; total: the whole call, JSON included\n");
  std::printf("%-18s %-12s %12s %12s %12s %12s %12s\n", "operation", "phase", "mean us", "p50 us",
              "p99 us", "min us", "max us");
  for (OpSamples* op : {&settings_op, &validate_op}) {
    struct Row {
      const char* phase;
      std::vector<nanoseconds>* samples;
    };
    for (Row row : {Row{"instantiate", &op->instantiate}, Row{"evaluate", &op->run},
                    Row{"teardown", &op->teardown}, Row{"total", &op->total}}) {
      Stats s = summarise(*row.samples);
      std::printf("%-18s %-12s %12.1f %12.1f %12.1f %12.1f %12.1f\n", op->name, row.phase,
                  s.mean_us, s.p50_us, s.p99_us, s.min_us, s.max_us);
    }
  }
  return kPolicyExitOk;
}

}  // namespace tollgate::server::cli
