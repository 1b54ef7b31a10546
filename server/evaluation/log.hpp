// A small thread-safe logger: levels trace..error, text or JSON, one line per record.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>

namespace tollgate::server::evaluation {

enum class LogLevel : uint8_t { trace, debug, info, warn, error };
enum class LogFormat : uint8_t { text, json };

/// "trace", "debug", "info", "warn", "error".
const char* log_level_name(LogLevel level);
/// Accepts policy-server's spellings (also "warning"); nullopt for anything else.
std::optional<LogLevel> parse_log_level(std::string_view name);
/// "text" or "json"; nullopt for anything else ("otlp" is not supported).
std::optional<LogFormat> parse_log_format(std::string_view name);

class Logger {
 public:
  /// Receives each finished line, without the trailing newline.
  using Writer = std::function<void(std::string_view line)>;

  /// Writes to stderr.
  Logger(LogLevel level = LogLevel::info, LogFormat format = LogFormat::text);
  Logger(LogLevel level, LogFormat format, Writer writer);

  bool enabled(LogLevel level) const { return level >= level_; }
  LogLevel level() const { return level_; }
  LogFormat format() const { return format_; }

  /// One record: text is `<RFC 3339 UTC time> <LEVEL> <target>: <message> key=value ...`;
  /// JSON is `{"timestamp","level","target","message",<fields>...}`. Newlines in the message
  /// are escaped so a record is always one line. Safe to call from any thread.
  void log(LogLevel level,
           std::string_view target,
           std::string_view message,
           const boost::json::object& fields = {}) const;

 private:
  LogLevel level_;
  LogFormat format_;
  Writer writer_;
  mutable std::mutex mutex_;
};

}  // namespace tollgate::server::evaluation
