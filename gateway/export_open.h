// Opening what `pnfsgw serve` exports: the extent store in a data directory
// (the default; created and formatted on first use with a sparse device
// file), or a host directory (DIR/export) with --backend hostdir.
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "backend/fs.h"
#include "common/result.h"

namespace pnfsgw {

struct ExportConfig {
  std::string data_dir;
  std::string backend = "store";  // "store" or "hostdir"
  std::string device;             // default DATA/device
  uint64_t device_size = 16ull << 30;  // when the device file is created
  bool dax = false;                    // map the device (libpmem) instead of pread/pwrite
  uint64_t write_cache = 64ull << 20;  // store: bytes of writes kept until COMMIT (0: none)
};

// Owns the device and the Filesystem on it.
class OpenedExport {
 public:
  virtual ~OpenedExport() = default;
  virtual backend::Filesystem* fs() = 0;
  // What is exported, for the startup message.
  virtual std::string describe() const = 0;
};

// Opens (creating if needed) the export; on failure *why says what went wrong.
Result<std::unique_ptr<OpenedExport>> open_export(const ExportConfig& cfg, std::string* why);

// `pnfsgw fsck DIR`: checks the store in DIR; prints the report; returns the
// process exit status (0 clean, 1 problems found, 2 cannot check).
int run_fsck(const std::string& data_dir, const std::string& device);

// "16G", "512M", "4096": binary suffixes K, M, G, T. False on junk or overflow.
bool parse_size(const char* s, uint64_t* out);

}  // namespace pnfsgw
