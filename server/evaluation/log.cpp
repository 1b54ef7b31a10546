// A small thread-safe logger: levels trace..error, text or JSON, one line per record.
// SPDX-License-Identifier: Apache-2.0
#include "server/evaluation/log.hpp"

#include <chrono>
#include <cstdio>
#include <ctime>

#include <boost/json/serialize.hpp>

namespace tollgate::server::evaluation {
namespace {

std::string timestamp() {
  auto now = std::chrono::system_clock::now();
  std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  auto micros =
      std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count() %
      1000000;
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[64];
  std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", utc.tm_year + 1900,
                utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
                static_cast<long long>(micros));
  return text;
}

/// Control characters escaped so the record stays on one line.
void append_escaped(std::string& out, std::string_view text) {
  for (char c : text) {
    if (c == '\n')
      out += "\\n";
    else if (c == '\r')
      out += "\\r";
    else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
      out += ' ';
    else
      out += c;
  }
}

const char* upper_name(LogLevel level) {
  switch (level) {
    case LogLevel::trace:
      return "TRACE";
    case LogLevel::debug:
      return "DEBUG";
    case LogLevel::info:
      return " INFO";
    case LogLevel::warn:
      return " WARN";
    case LogLevel::error:
      return "ERROR";
  }
  return "";
}

}  // namespace

const char* log_level_name(LogLevel level) {
  switch (level) {
    case LogLevel::trace:
      return "trace";
    case LogLevel::debug:
      return "debug";
    case LogLevel::info:
      return "info";
    case LogLevel::warn:
      return "warn";
    case LogLevel::error:
      return "error";
  }
  return "";
}

std::optional<LogLevel> parse_log_level(std::string_view name) {
  if (name == "trace")
    return LogLevel::trace;
  if (name == "debug")
    return LogLevel::debug;
  if (name == "info")
    return LogLevel::info;
  if (name == "warn" || name == "warning")
    return LogLevel::warn;
  if (name == "error")
    return LogLevel::error;
  return std::nullopt;
}

std::optional<LogFormat> parse_log_format(std::string_view name) {
  if (name == "text")
    return LogFormat::text;
  if (name == "json")
    return LogFormat::json;
  return std::nullopt;
}

Logger::Logger(LogLevel level, LogFormat format)
    : Logger(level, format, [](std::string_view line) {
        std::fwrite(line.data(), 1, line.size(), stderr);
        std::fputc('\n', stderr);
        std::fflush(stderr);
      }) {}

Logger::Logger(LogLevel level, LogFormat format, Writer writer)
    : level_(level), format_(format), writer_(std::move(writer)) {}

void Logger::log(LogLevel level,
                 std::string_view target,
                 std::string_view message,
                 const boost::json::object& fields) const {
  if (!enabled(level))
    return;
  std::string line;
  if (format_ == LogFormat::json) {
    boost::json::object record;
    record["timestamp"] = timestamp();
    record["level"] = log_level_name(level);
    record["target"] = target;
    record["message"] = message;
    for (const auto& field : fields) {
      if (!record.contains(field.key()))
        record[field.key()] = field.value();
    }
    // serialize escapes every control character, so the record is one line.
    line = boost::json::serialize(record);
  } else {
    line = timestamp();
    line += ' ';
    line += upper_name(level);
    line += ' ';
    append_escaped(line, target);
    line += ": ";
    append_escaped(line, message);
    for (const auto& field : fields) {
      line += ' ';
      append_escaped(line, field.key());
      line += '=';
      if (const boost::json::string* s = field.value().if_string())
        append_escaped(line, *s);
      else
        append_escaped(line, boost::json::serialize(field.value()));
    }
  }
  std::lock_guard lock(mutex_);
  writer_(line);
}

}  // namespace tollgate::server::evaluation
