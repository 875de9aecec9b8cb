// Structured logging: every line is an event name plus key=value fields.
//
//   log::Info("http.request", {{"id", rid}, {"status", 200}});
//   -> 2026-11-29T07:40:00.123Z info http.request id=4f.. status=200
//
// With SetJsonFormat(true) each line is a JSON object instead. Thread-safe.
// Never log secrets, message contents or unmatched customer-list hashes.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

namespace tandem::log {

enum class Level { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3, kOff = 4 };

struct Field {
  Field(std::string_view k, std::string_view v) : key(k), value(v) {}
  Field(std::string_view k, const std::string& v) : key(k), value(v) {}
  Field(std::string_view k, const char* v) : key(k), value(v) {}
  Field(std::string_view k, int64_t v) : key(k), value(std::to_string(v)), quoted(false) {}
  Field(std::string_view k, int v) : key(k), value(std::to_string(v)), quoted(false) {}
  Field(std::string_view k, uint64_t v) : key(k), value(std::to_string(v)), quoted(false) {}
  Field(std::string_view k, double v) : key(k), value(std::to_string(v)), quoted(false) {}
  Field(std::string_view k, bool v) : key(k), value(v ? "true" : "false"), quoted(false) {}

  std::string_view key;
  std::string value;
  bool quoted = true;  // whether JSON output quotes the value
};

void SetLevel(Level level);
// Parses "debug", "info", "warn", "error" or "off".
bool ParseLevel(std::string_view name, Level* out);
void SetJsonFormat(bool json);
// Sends lines to `path` (appending) instead of stderr; empty means stderr.
bool SetOutputFile(const std::string& path);

void Write(Level level, std::string_view event, std::initializer_list<Field> fields);
inline void Debug(std::string_view e, std::initializer_list<Field> f = {}) { Write(Level::kDebug, e, f); }
inline void Info(std::string_view e, std::initializer_list<Field> f = {}) { Write(Level::kInfo, e, f); }
inline void Warn(std::string_view e, std::initializer_list<Field> f = {}) { Write(Level::kWarn, e, f); }
inline void Error(std::string_view e, std::initializer_list<Field> f = {}) { Write(Level::kError, e, f); }

// Formats one line without writing it (used by tests).
std::string Format(Level level, std::string_view event, std::initializer_list<Field> fields, bool json);

}  // namespace tandem::log
