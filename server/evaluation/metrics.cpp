// The policy evaluation metrics of policy-server (kubewarden.md 1.9), rendered as Prometheus text.
// SPDX-License-Identifier: Apache-2.0
#include "server/evaluation/metrics.hpp"

#include <algorithm>
#include <cstdio>

namespace tollgate::server::evaluation {
namespace {

const char* bool_text(bool value) {
  return value ? "true" : "false";
}

/// Prometheus label value escaping: backslash, double quote and newline.
void append_label_value(std::string& out, const std::string& value) {
  for (char c : value) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
}

std::string render_labels(const MetricLabels& labels, const std::string* le = nullptr) {
  if (labels.empty() && le == nullptr)
    return "";
  std::string out = "{";
  bool first = true;
  for (const auto& [name, value] : labels) {
    if (!first)
      out += ',';
    first = false;
    out += name;
    out += "=\"";
    append_label_value(out, value);
    out += '"';
  }
  if (le != nullptr) {
    if (!first)
      out += ',';
    out += "le=\"" + *le + "\"";
  }
  out += '}';
  return out;
}

std::string format_bound(double bound) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", bound);
  return text;
}

/// Sorted by label name, so the same label set always keys the same series.
MetricLabels canonical(MetricLabels labels) {
  std::sort(labels.begin(), labels.end());
  return labels;
}

}  // namespace

MetricLabels labels_of(const AdmissionEvaluation& e) {
  MetricLabels labels = {
      {"policy_name", e.policy_name},
      {"policy_mode", e.policy_mode},
      {"resource_kind", e.resource_kind},
      {"resource_request_operation", e.resource_request_operation},
      {"accepted", bool_text(e.accepted)},
      {"mutated", bool_text(e.mutated)},
      {"request_origin", e.request_origin},
  };
  if (e.resource_namespace)
    labels.emplace_back("resource_namespace", *e.resource_namespace);
  if (e.error_code)
    labels.emplace_back("error_code", std::to_string(*e.error_code));
  return labels;
}

MetricLabels labels_of(const RawEvaluation& e) {
  MetricLabels labels = {
      {"policy_name", e.policy_name},
      {"policy_mode", e.policy_mode},
      {"accepted", bool_text(e.accepted)},
      {"mutated", bool_text(e.mutated)},
  };
  if (e.error_code)
    labels.emplace_back("error_code", std::to_string(*e.error_code));
  return labels;
}

const std::vector<double>& Metrics::latency_buckets() {
  static const std::vector<double> buckets = {0,   5,   10,   25,   50,   75,   100,  250,
                                              500, 750, 1000, 2500, 5000, 7500, 10000};
  return buckets;
}

void Metrics::record_evaluation(const MetricLabels& labels, uint64_t latency_ms) {
  MetricLabels key = canonical(labels);
  const auto& bounds = latency_buckets();
  std::lock_guard lock(mutex_);
  ++counters_[key];
  Histogram& histogram = histograms_[key];
  if (histogram.buckets.empty())
    histogram.buckets.assign(bounds.size(), 0);
  for (std::size_t i = 0; i < bounds.size(); ++i) {
    if (static_cast<double>(latency_ms) <= bounds[i]) {
      ++histogram.buckets[i];
      break;
    }
  }
  ++histogram.count;
  histogram.sum += latency_ms;
}

void Metrics::record(const AdmissionEvaluation& evaluation, uint64_t latency_ms) {
  record_evaluation(labels_of(evaluation), latency_ms);
}

void Metrics::record(const RawEvaluation& evaluation, uint64_t latency_ms) {
  record_evaluation(labels_of(evaluation), latency_ms);
}

void Metrics::record_initialization_error(const std::string& policy_name,
                                          const std::string& error) {
  MetricLabels key = canonical({{"policy_name", policy_name}, {"initialization_error", error}});
  std::lock_guard lock(mutex_);
  ++counters_[key];
}

uint64_t Metrics::evaluations(const MetricLabels& labels) const {
  MetricLabels key = canonical(labels);
  std::lock_guard lock(mutex_);
  auto it = counters_.find(key);
  return it == counters_.end() ? 0 : it->second;
}

std::string Metrics::render_prometheus() const {
  const auto& bounds = latency_buckets();
  std::lock_guard lock(mutex_);
  std::string out;
  out += "# HELP " + std::string(kEvaluationsTotal) + " Number of policy evaluations\n";
  out += "# TYPE " + std::string(kEvaluationsTotal) + " counter\n";
  for (const auto& [labels, count] : counters_)
    out +=
        std::string(kEvaluationsTotal) + render_labels(labels) + " " + std::to_string(count) + "\n";
  std::string latency(kEvaluationLatency);
  out += "# HELP " + latency + " Policy evaluation latency in milliseconds\n";
  out += "# TYPE " + latency + " histogram\n";
  for (const auto& [labels, histogram] : histograms_) {
    uint64_t cumulative = 0;
    for (std::size_t i = 0; i < bounds.size(); ++i) {
      cumulative += histogram.buckets[i];
      std::string le = format_bound(bounds[i]);
      out += latency + "_bucket" + render_labels(labels, &le) + " " + std::to_string(cumulative) +
             "\n";
    }
    std::string inf = "+Inf";
    out += latency + "_bucket" + render_labels(labels, &inf) + " " +
           std::to_string(histogram.count) + "\n";
    out += latency + "_sum" + render_labels(labels) + " " + std::to_string(histogram.sum) + "\n";
    out +=
        latency + "_count" + render_labels(labels) + " " + std::to_string(histogram.count) + "\n";
  }
  return out;
}

}  // namespace tollgate::server::evaluation
