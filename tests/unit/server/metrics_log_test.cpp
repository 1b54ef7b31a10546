// Metrics (Prometheus text, label sets of kubewarden.md 1.9) and the one-line logger.
// SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>

#include <thread>

#include <boost/json.hpp>

#include "server/evaluation/log.hpp"
#include "server/evaluation/metrics.hpp"

namespace tollgate::server::evaluation {
namespace {

TEST(metrics, admission_labels_in_order_with_optionals) {
  AdmissionEvaluation e{"p", "protect", "Pod", "CREATE", true, false, "validate", "default", 500};
  MetricLabels labels = labels_of(e);
  std::vector<std::string> names;
  for (const auto& l : labels)
    names.push_back(l.first);
  EXPECT_EQ(names,
            (std::vector<std::string>{"policy_name", "policy_mode", "resource_kind",
                                      "resource_request_operation", "accepted", "mutated",
                                      "request_origin", "resource_namespace", "error_code"}));
  AdmissionEvaluation bare{"p", "monitor", "", "DELETE", false, false, "audit", {}, {}};
  EXPECT_EQ(labels_of(bare).size(), 7u);
  RawEvaluation raw{"p", "protect", true, true, {}};
  EXPECT_EQ(labels_of(raw).size(), 4u);
}

TEST(metrics, prometheus_text) {
  Metrics m;
  RawEvaluation raw{"p", "protect", true, false, {}};
  m.record(raw, 3);
  m.record(raw, 70);
  m.record_initialization_error("broken", "Policy settings are invalid: x");
  EXPECT_EQ(m.evaluations(labels_of(raw)), 2u);
  std::string text = m.render_prometheus();
  EXPECT_NE(text.find("# TYPE kubewarden_policy_evaluations_total counter\n"), std::string::npos);
  EXPECT_NE(text.find("# TYPE kubewarden_policy_evaluation_latency_milliseconds histogram\n"),
            std::string::npos);
  EXPECT_NE(
      text.find(
          R"(kubewarden_policy_evaluations_total{accepted="true",mutated="false",policy_mode="protect",policy_name="p"} 2)"),
      std::string::npos)
      << text;
  EXPECT_NE(
      text.find(
          R"(kubewarden_policy_evaluation_latency_milliseconds_bucket{accepted="true",mutated="false",policy_mode="protect",policy_name="p",le="5"} 1)"),
      std::string::npos)
      << text;
  EXPECT_NE(text.find(R"(le="75"} 2)"), std::string::npos);
  EXPECT_NE(text.find(R"(le="+Inf"} 2)"), std::string::npos);
  EXPECT_NE(
      text.find(
          R"(kubewarden_policy_evaluation_latency_milliseconds_sum{accepted="true",mutated="false",policy_mode="protect",policy_name="p"} 73)"),
      std::string::npos);
  EXPECT_NE(
      text.find(R"(initialization_error="Policy settings are invalid: x",policy_name="broken"} 1)"),
      std::string::npos);
}

TEST(metrics, label_values_are_escaped) {
  Metrics m;
  m.record_initialization_error("p", "a \"quoted\"\nline\\");
  EXPECT_NE(m.render_prometheus().find(R"(initialization_error="a \"quoted\"\nline\\")"),
            std::string::npos);
}

TEST(metrics, concurrent_recording) {
  Metrics m;
  RawEvaluation raw{"p", "protect", true, false, {}};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i)
        m.record(raw, 1);
    });
  for (auto& t : threads)
    t.join();
  EXPECT_EQ(m.evaluations(labels_of(raw)), 4000u);
}

TEST(log, levels_and_formats) {
  std::vector<std::string> lines;
  Logger text(LogLevel::info, LogFormat::text, [&](std::string_view l) { lines.emplace_back(l); });
  text.log(LogLevel::debug, "t", "hidden");
  text.log(LogLevel::warn, "target", "two\nlines", {{"k", "v"}, {"n", 3}});
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find(" WARN target: two\\nlines k=v n=3"), std::string::npos) << lines[0];
  EXPECT_EQ(lines[0].find('\n'), std::string::npos);

  Logger json_logger(LogLevel::trace, LogFormat::json,
                     [&](std::string_view l) { lines.emplace_back(l); });
  json_logger.log(LogLevel::trace, "t", "m\n", {{"policy_id", "p"}});
  ASSERT_EQ(lines.size(), 2u);
  boost::json::value record = boost::json::parse(lines[1]);
  EXPECT_EQ(record.at("level"), "trace");
  EXPECT_EQ(record.at("target"), "t");
  EXPECT_EQ(record.at("message"), "m\n");
  EXPECT_EQ(record.at("policy_id"), "p");
  EXPECT_TRUE(record.at("timestamp").is_string());
}

TEST(log, parse_names) {
  EXPECT_EQ(parse_log_level("warning"), LogLevel::warn);
  EXPECT_EQ(parse_log_level("error"), LogLevel::error);
  EXPECT_FALSE(parse_log_level("loud"));
  EXPECT_EQ(parse_log_format("json"), LogFormat::json);
  EXPECT_FALSE(parse_log_format("otlp"));
}

}  // namespace
}  // namespace tollgate::server::evaluation
