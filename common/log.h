// Minimal leveled logging to stderr. Safe from any thread.
#pragma once
#include <cstdio>

namespace pnfsgw {
enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };
void set_log_level(LogLevel level);
LogLevel log_level();
void log_printf(LogLevel level, const char* fmt, ...) __attribute__((format(printf, 2, 3)));
}  // namespace pnfsgw

#define PLOG_DEBUG(...) \
  do { if (::pnfsgw::log_level() <= ::pnfsgw::LogLevel::kDebug) ::pnfsgw::log_printf(::pnfsgw::LogLevel::kDebug, __VA_ARGS__); } while (0)
#define PLOG_INFO(...) ::pnfsgw::log_printf(::pnfsgw::LogLevel::kInfo, __VA_ARGS__)
#define PLOG_WARN(...) ::pnfsgw::log_printf(::pnfsgw::LogLevel::kWarn, __VA_ARGS__)
#define PLOG_ERROR(...) ::pnfsgw::log_printf(::pnfsgw::LogLevel::kError, __VA_ARGS__)
