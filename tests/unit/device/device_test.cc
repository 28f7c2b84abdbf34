// The Device contract, run against every implementation.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <functional>
#include <numeric>
#include <string>
#include <vector>

#include "backend/device/dax_device.h"
#include "backend/device/fault_device.h"
#include "backend/device/file_device.h"
#include "backend/device/mem_device.h"

namespace pnfsgw::backend::device {
namespace {

constexpr uint64_t kSize = 1 << 20;

std::vector<uint8_t> pattern(size_t n, uint8_t seed) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(seed + i * 7);
  return v;
}

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "devtest.XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string file(const char* name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

struct Impl {
  const char* name;
  // Opens (creating if needed) a kSize device at `path`; in-memory ones ignore it.
  std::function<std::unique_ptr<Device>(const std::string& path)> open;
};

std::unique_ptr<Device> must(auto r) {
  EXPECT_TRUE(r.is_ok()) << r.err();
  return r ? std::move(r).value() : nullptr;
}

const Impl kImpls[] = {
    {"Mem", [](const std::string&) { return std::make_unique<MemDevice>(kSize); }},
    {"Fault", [](const std::string&) { return std::make_unique<FaultDevice>(kSize); }},
    {"File", [](const std::string& p) { return must(open_file_device(p, kSize)); }},
    {"Dax", [](const std::string& p) { return must(open_dax_device(p, kSize)); }},
};

class DeviceContract : public ::testing::TestWithParam<Impl> {
 protected:
  void SetUp() override {
    dev_ = GetParam().open(dir_.file("dev"));
    ASSERT_NE(dev_, nullptr);
  }
  TempDir dir_;
  std::unique_ptr<Device> dev_;
};

TEST_P(DeviceContract, HasRequestedSizeAnd4KBlocks) {
  EXPECT_EQ(dev_->size(), kSize);
  EXPECT_EQ(dev_->block_size(), 4096u);
}

TEST_P(DeviceContract, ReadsBackWritesAtUnalignedOffsets) {
  for (uint64_t off : std::initializer_list<uint64_t>{0, 1, 4095, 4097, 12345, kSize - 9000}) {
    auto data = pattern(9000, static_cast<uint8_t>(off));
    ASSERT_TRUE(dev_->write(off, data)) << off;
    std::vector<uint8_t> got(data.size());
    ASSERT_TRUE(dev_->read(off, got)) << off;
    EXPECT_EQ(got, data) << off;
  }
}

TEST_P(DeviceContract, UnwrittenBytesReadAsZero) {
  std::vector<uint8_t> got(5000, 0xAA);
  ASSERT_TRUE(dev_->read(100000, got));
  EXPECT_EQ(got, std::vector<uint8_t>(5000, 0));
}

TEST_P(DeviceContract, RangesOutsideTheDeviceAreEinval) {
  std::vector<uint8_t> buf(16);
  EXPECT_EQ(dev_->read(kSize - 15, buf).err(), EINVAL);
  EXPECT_EQ(dev_->write(kSize - 15, buf).err(), EINVAL);
  EXPECT_EQ(dev_->read(kSize, buf).err(), EINVAL);
  EXPECT_EQ(dev_->write(UINT64_MAX - 4, buf).err(), EINVAL);  // off + len overflows
  EXPECT_EQ(dev_->read(kSize + 1, std::span<uint8_t>()).err(), EINVAL);
  EXPECT_EQ(dev_->flush_range(kSize - 1, 2).err(), EINVAL);
  EXPECT_EQ(dev_->flush_range(1, UINT64_MAX).err(), EINVAL);
  // Exactly at the end is fine.
  EXPECT_TRUE(dev_->write(kSize - 16, buf));
  EXPECT_TRUE(dev_->read(kSize, std::span<uint8_t>()));
  EXPECT_TRUE(dev_->flush_range(0, kSize));
  EXPECT_TRUE(dev_->flush());
}

TEST_P(DeviceContract, MapIsNullUnlessMemoryMapped) {
  bool mapped = std::string(GetParam().name) == "Dax";
  EXPECT_EQ(dev_->map() != nullptr, mapped);
  if (mapped) {
    dev_->map()[777] = 0x5A;
    ASSERT_TRUE(dev_->flush_range(777, 1));
    uint8_t b = 0;
    ASSERT_TRUE(dev_->read(777, std::span(&b, 1)));
    EXPECT_EQ(b, 0x5A);
  }
}

INSTANTIATE_TEST_SUITE_P(All, DeviceContract, ::testing::ValuesIn(kImpls),
                         [](const auto& info) { return std::string(info.param.name); });

// FileDevice and DaxDevice keep their contents across close and reopen, and
// read each other's files (same bytes, different access path).
class PersistentDevice : public ::testing::TestWithParam<Impl> {};

TEST_P(PersistentDevice, FlushedDataSurvivesCloseAndReopen) {
  TempDir dir;
  std::string path = dir.file("dev");
  auto data = pattern(10000, 3);
  {
    auto dev = GetParam().open(path);
    ASSERT_TRUE(dev->write(4093, data));
    ASSERT_TRUE(dev->flush());
  }
  EXPECT_EQ(std::filesystem::file_size(path), kSize);
  for (const Impl& reader : {kImpls[2], kImpls[3]}) {
    auto dev = reader.open(path);  // exists: create_size ignored
    ASSERT_EQ(dev->size(), kSize);
    std::vector<uint8_t> got(data.size());
    ASSERT_TRUE(dev->read(4093, got));
    EXPECT_EQ(got, data) << reader.name;
  }
}

INSTANTIATE_TEST_SUITE_P(OnDisk, PersistentDevice, ::testing::Values(kImpls[2], kImpls[3]),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(FileDevice, CreatesASparseFile) {
  TempDir dir;
  std::string path = dir.file("sparse");
  auto dev = open_file_device(path, 1ull << 30);
  ASSERT_TRUE(dev.is_ok());
  EXPECT_EQ((*dev)->size(), 1ull << 30);
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_LT(st.st_blocks * 512, 1 << 20);
}

TEST(FileDevice, MissingFileWithoutCreateSizeIsEnoent) {
  TempDir dir;
  EXPECT_EQ(open_file_device(dir.file("nope"), 0).err(), ENOENT);
  EXPECT_EQ(open_dax_device(dir.file("nope"), 0).err(), ENOENT);
}

TEST(FileDevice, DirectoryIsNotADevice) {
  TempDir dir;
  EXPECT_FALSE(open_file_device(dir.file(""), 0).is_ok());
}

}  // namespace
}  // namespace pnfsgw::backend::device
