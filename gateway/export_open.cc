#include "gateway/export_open.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

#include "backend/device/dax_device.h"
#include "backend/device/file_device.h"
#include "backend/hostdir/hostdir_fs.h"
#include "backend/store/store_fs.h"

namespace pnfsgw {
namespace {

class HostDirExport final : public OpenedExport {
 public:
  HostDirExport(std::unique_ptr<backend::Filesystem> fs, std::string dir)
      : fs_(std::move(fs)), dir_(std::move(dir)) {}
  backend::Filesystem* fs() override { return fs_.get(); }
  std::string describe() const override { return "host directory " + dir_; }

 private:
  std::unique_ptr<backend::Filesystem> fs_;
  std::string dir_;
};

class StoreExport final : public OpenedExport {
 public:
  StoreExport(std::unique_ptr<backend::device::Device> dev, std::unique_ptr<store::StoreFs> fs,
              std::string what)
      : dev_(std::move(dev)), fs_(std::move(fs)), what_(std::move(what)) {}
  ~StoreExport() override { fs_.reset(); }  // the store before its device
  backend::Filesystem* fs() override { return fs_.get(); }
  std::string describe() const override { return what_; }

 private:
  std::unique_ptr<backend::device::Device> dev_;
  std::unique_ptr<store::StoreFs> fs_;
  std::string what_;
};

bool exists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

Result<std::unique_ptr<backend::device::Device>> open_device(const std::string& path, uint64_t size,
                                                             bool dax) {
  using R = Result<std::unique_ptr<backend::device::Device>>;
  if (dax) {
    auto d = backend::device::open_dax_device(path, size);
    if (!d) return R::error(d.err());
    return std::unique_ptr<backend::device::Device>(std::move(d).value());
  }
  auto d = backend::device::open_file_device(path, size);
  if (!d) return R::error(d.err());
  return std::unique_ptr<backend::device::Device>(std::move(d).value());
}

}  // namespace

bool parse_size(const char* s, uint64_t* out) {
  if (!s || !*s || *s == '-') return false;
  char* end = nullptr;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno || end == s) return false;
  int shift = 0;
  if (*end) {
    switch (*end) {
      case 'k': case 'K': shift = 10; break;
      case 'm': case 'M': shift = 20; break;
      case 'g': case 'G': shift = 30; break;
      case 't': case 'T': shift = 40; break;
      default: return false;
    }
    if (end[1] != '\0') return false;
  }
  if (shift && v > (UINT64_MAX >> shift)) return false;
  *out = static_cast<uint64_t>(v) << shift;
  return true;
}

Result<std::unique_ptr<OpenedExport>> open_export(const ExportConfig& cfg, std::string* why) {
  using R = Result<std::unique_ptr<OpenedExport>>;
  if (cfg.backend == "hostdir") {
    std::string dir = cfg.data_dir + "/export";
    if (mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
      *why = "cannot create " + dir + ": " + strerror(errno);
      return R::error(errno);
    }
    auto fs = backend::open_hostdir_fs(dir);
    if (!fs) {
      *why = "cannot export " + dir + ": " + strerror(fs.err());
      return R::error(fs.err());
    }
    return std::unique_ptr<OpenedExport>(new HostDirExport(std::move(fs).value(), dir));
  }
  if (cfg.backend != "store") {
    *why = "unknown backend '" + cfg.backend + "' (store or hostdir)";
    return R::error(EINVAL);
  }
  std::string dev_path = cfg.device.empty() ? store::device_path(cfg.data_dir) : cfg.device;
  store::StoreOptions opt;
  opt.meta_dir = store::meta_path(cfg.data_dir);
  opt.write_cache_bytes = cfg.write_cache;
  bool fresh = !exists(opt.meta_dir + "/data.mdb");
  if (fresh && cfg.device_size < 2 * store::kBlockSize) {
    *why = "device size too small";
    return R::error(EINVAL);
  }
  auto dev = open_device(dev_path, fresh ? cfg.device_size : 0, cfg.dax);
  if (!dev) {
    *why = "cannot open device " + dev_path + ": " + strerror(dev.err());
    return R::error(dev.err());
  }
  if (fresh) {
    if (Status st = store::StoreFs::format(*dev.value(), opt); !st) {
      *why = "cannot format the store on " + dev_path + ": " + strerror(st.err());
      return R::error(st.err());
    }
  }
  auto fs = store::StoreFs::open(dev.value().get(), nullptr, opt);
  if (!fs) {
    *why = "cannot open the store on " + dev_path + " (metadata " + opt.meta_dir + "): " + strerror(fs.err());
    return R::error(fs.err());
  }
  char what[512];
  snprintf(what, sizeof what, "extent store on %s (%llu MiB%s), metadata in %s, write cache %llu MiB",
           dev_path.c_str(), static_cast<unsigned long long>(dev.value()->size() >> 20), cfg.dax ? ", DAX" : "",
           opt.meta_dir.c_str(), static_cast<unsigned long long>(cfg.write_cache >> 20));
  return std::unique_ptr<OpenedExport>(
      new StoreExport(std::move(dev).value(), std::move(fs).value(), what));
}

int run_fsck(const std::string& data_dir, const std::string& device) {
  std::string dev_path = device.empty() ? store::device_path(data_dir) : device;
  store::StoreOptions opt;
  opt.meta_dir = store::meta_path(data_dir);
  opt.inspect_only = true;
  if (!exists(opt.meta_dir + "/data.mdb")) {
    fprintf(stderr, "pnfsgw fsck: %s holds no store (no %s/data.mdb)\n", data_dir.c_str(), opt.meta_dir.c_str());
    return 2;
  }
  auto dev = backend::device::open_file_device(dev_path, 0);
  if (!dev) {
    fprintf(stderr, "pnfsgw fsck: cannot open device %s: %s\n", dev_path.c_str(), strerror(dev.err()));
    return 2;
  }
  auto fs = store::StoreFs::open(dev.value().get(), nullptr, opt);
  if (!fs) {
    fprintf(stderr, "pnfsgw fsck: cannot open the store in %s: %s\n", data_dir.c_str(), strerror(fs.err()));
    return 2;
  }
  auto problems = fs.value()->check();
  if (!problems) {
    fprintf(stderr, "pnfsgw fsck: cannot read the metadata: %s\n", strerror(problems.err()));
    return 2;
  }
  for (const auto& p : problems.value()) printf("%s\n", p.what.c_str());
  if (problems.value().empty()) {
    printf("pnfsgw fsck: %s is clean\n", data_dir.c_str());
    return 0;
  }
  printf("pnfsgw fsck: %zu problem(s) in %s\n", problems.value().size(), data_dir.c_str());
  return 1;
}

}  // namespace pnfsgw
