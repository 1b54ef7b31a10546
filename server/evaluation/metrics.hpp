// The policy evaluation metrics of policy-server (kubewarden.md 1.9), rendered as Prometheus text.
// SPDX-License-Identifier: Apache-2.0
//
// policy-server pushes these over OTLP; tollgate keeps the same instrument names and label sets
// and lets the transport serve them in the Prometheus text exposition format.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tollgate::server::evaluation {

inline constexpr std::string_view kEvaluationsTotal = "kubewarden_policy_evaluations_total";
inline constexpr std::string_view kEvaluationLatency =
    "kubewarden_policy_evaluation_latency_milliseconds";

/// Label name/value pairs, in the order they are rendered.
using MetricLabels = std::vector<std::pair<std::string, std::string>>;

/// The labels of one admission evaluation (`/validate`, `/audit`). `accepted`/`mutated` are the
/// policy's raw answer, before post-processing.
struct AdmissionEvaluation {
  std::string policy_name;
  std::string policy_mode;    ///< "protect" | "monitor"
  std::string resource_kind;  ///< requestKind.kind, "" when absent
  std::string resource_request_operation;
  bool accepted = false;
  bool mutated = false;
  std::string request_origin;  ///< "validate" | "audit"
  std::optional<std::string> resource_namespace;
  std::optional<int64_t> error_code;
};

/// The labels of one `/validate_raw` evaluation.
struct RawEvaluation {
  std::string policy_name;
  std::string policy_mode;
  bool accepted = false;
  bool mutated = false;
  std::optional<int64_t> error_code;
};

MetricLabels labels_of(const AdmissionEvaluation& evaluation);
MetricLabels labels_of(const RawEvaluation& evaluation);

/// Counters and histograms keyed by label set. Thread-safe.
class Metrics {
 public:
  /// Upper bounds (ms) of the latency histogram buckets; +Inf is implicit.
  static const std::vector<double>& latency_buckets();

  /// Counts one evaluation and observes its latency (integer milliseconds, truncated).
  void record_evaluation(const MetricLabels& labels, uint64_t latency_ms);
  void record(const AdmissionEvaluation& evaluation, uint64_t latency_ms);
  void record(const RawEvaluation& evaluation, uint64_t latency_ms);
  /// Counts a policy that failed to initialise (counter only): policy_name,
  /// initialization_error.
  void record_initialization_error(const std::string& policy_name, const std::string& error);

  /// The counter for exactly `labels` (0 when never recorded); for tests.
  uint64_t evaluations(const MetricLabels& labels) const;

  /// Prometheus text exposition format 0.0.4: `# HELP`/`# TYPE` lines, the counter, and the
  /// histogram's `_bucket{le=...}`, `_sum` and `_count` series. Series are sorted by labels.
  std::string render_prometheus() const;

 private:
  struct Histogram {
    std::vector<uint64_t> buckets;  ///< cumulative counts are computed when rendering
    uint64_t count = 0;
    uint64_t sum = 0;
  };
  mutable std::mutex mutex_;
  std::map<MetricLabels, uint64_t> counters_;
  std::map<MetricLabels, Histogram> histograms_;
};

}  // namespace tollgate::server::evaluation
