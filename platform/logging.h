#pragma once

// A tiny leveled logger: one line per event on stderr, safe to call from any
// thread. Lines look like
//   2026-11-24T03:49:50.123Z INFO tls certificate reloaded cert=/tls/tls.crt serial=1a2b
// so they stay greppable and parseable by a log shipper without a JSON encoder.

#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mpshare::platform {

enum class LogLevel { kDebug, kInfo, kWarn, kError };

// key=value pairs appended to the line, in order.
using LogFields = std::vector<std::pair<std::string, std::string>>;

// Events below `level` are dropped. Default: kInfo.
void setLogLevel(LogLevel level);
LogLevel logLevel();

// "debug", "info", "warn" (or "warning"), "error", case-insensitive; nullopt otherwise.
// Example: parseLogLevel("WARN") == LogLevel::kWarn.
std::optional<LogLevel> parseLogLevel(std::string_view text);

// Redirects output (tests capture it); nullptr restores stderr. The stream must
// outlive every later log call.
void setLogStream(std::ostream* stream);

// Writes one line. Example: logEvent(LogLevel::kWarn, "tls reload failed",
// {{"cert", path}, {"error", "key does not match certificate"}});
void logEvent(LogLevel level, std::string_view message, const LogFields& fields = {});

inline void logDebug(std::string_view message, const LogFields& fields = {}) {
  logEvent(LogLevel::kDebug, message, fields);
}
inline void logInfo(std::string_view message, const LogFields& fields = {}) {
  logEvent(LogLevel::kInfo, message, fields);
}
inline void logWarn(std::string_view message, const LogFields& fields = {}) {
  logEvent(LogLevel::kWarn, message, fields);
}
inline void logError(std::string_view message, const LogFields& fields = {}) {
  logEvent(LogLevel::kError, message, fields);
}

// The line logEvent writes, without the timestamp and newline (exposed for tests).
// Values with spaces, quotes, '=' or control characters are quoted and escaped:
// formatLogLine(LogLevel::kInfo, "x", {{"k", "a b"}}) == "INFO x k=\"a b\"".
std::string formatLogLine(LogLevel level, std::string_view message, const LogFields& fields);

}  // namespace mpshare::platform
