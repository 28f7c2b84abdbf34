#include "common/log.h"

#include <atomic>
#include <cstdarg>
#include <ctime>
#include <mutex>

namespace pnfsgw {
namespace {
std::atomic<int> g_level{static_cast<int>(LogLevel::kInfo)};
std::mutex g_mu;
const char* level_name(LogLevel l) {
  switch (l) {
    case LogLevel::kDebug: return "debug";
    case LogLevel::kInfo: return "info";
    case LogLevel::kWarn: return "warn";
    case LogLevel::kError: return "error";
  }
  return "?";
}
}  // namespace

void set_log_level(LogLevel level) { g_level = static_cast<int>(level); }
LogLevel log_level() { return static_cast<LogLevel>(g_level.load()); }

void log_printf(LogLevel level, const char* fmt, ...) {
  if (static_cast<int>(level) < g_level.load()) return;
  char msg[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  tm tmv;
  gmtime_r(&ts.tv_sec, &tmv);
  std::lock_guard<std::mutex> lk(g_mu);
  fprintf(stderr, "%02d:%02d:%02d.%03ld pnfsgw %s: %s\n", tmv.tm_hour, tmv.tm_min, tmv.tm_sec,
          ts.tv_nsec / 1000000, level_name(level), msg);
}
}  // namespace pnfsgw
