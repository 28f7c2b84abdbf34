// HostDirFs: read, write, fsync, change attribute. Space operations are in
// hostdir_space_test.cc.
#include <linux/fs.h>
#include <sys/ioctl.h>

#include <cstdio>
#include <thread>

#include "tests/unit/hostdir/hostdir_test_util.h"

namespace pnfsgw::backend::testing {
namespace {

using HostDirFsIo = HostDirFsTest;

Result<std::string> read_at(Filesystem& fs, InodeId ino, uint64_t off, size_t len, bool* eof) {
  std::vector<uint8_t> buf(len);
  auto r = fs.read(ino, off, buf, eof);
  if (!r) return r.status();
  return std::string(reinterpret_cast<const char*>(buf.data()), *r);
}

TEST_F(HostDirFsIo, WritesAtOffsetsAndReadsThemBack) {
  Attr f = create(root(), "f");
  ASSERT_EQ(*fs_->write(f.ino, 0, as_bytes("abc")), 3u);
  ASSERT_EQ(*fs_->write(f.ino, 10, as_bytes("XYZ")), 3u);
  EXPECT_EQ(getattr(f.ino).size, 13u);
  bool eof = false;
  auto all = read_at(*fs_, f.ino, 0, 100, &eof);
  ASSERT_TRUE(all);
  EXPECT_EQ(*all, std::string("abc\0\0\0\0\0\0\0XYZ", 13));
  EXPECT_TRUE(eof);
  auto mid = read_at(*fs_, f.ino, 1, 2, &eof);
  EXPECT_EQ(*mid, "bc");
  EXPECT_FALSE(eof);
}

TEST_F(HostDirFsIo, EofIsSetWhenAReadEndsExactlyAtEndOfFile) {
  Attr f = file_with("f", std::string(100, 'a'));
  bool eof = false;
  EXPECT_EQ(read_at(*fs_, f.ino, 0, 100, &eof)->size(), 100u);
  EXPECT_TRUE(eof);
  EXPECT_EQ(read_at(*fs_, f.ino, 0, 99, &eof)->size(), 99u);
  EXPECT_FALSE(eof);
}

TEST_F(HostDirFsIo, ReadPastEndOfFileReturnsNothingWithEof) {
  Attr f = file_with("f", "abc");
  bool eof = false;
  auto r = read_at(*fs_, f.ino, 1000, 10, &eof);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->empty());
  EXPECT_TRUE(eof);
  r = read_at(*fs_, f.ino, UINT64_MAX, 10, &eof);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->empty());
  EXPECT_TRUE(eof);
}

TEST_F(HostDirFsIo, SparseWriteLeavesAHoleThatReadsAsZeros) {
  Attr f = create(root(), "f");
  const uint64_t far = 64ull << 20;
  ASSERT_TRUE(fs_->write(f.ino, far, as_bytes("z")));
  Attr a = getattr(f.ino);
  EXPECT_EQ(a.size, far + 1);
  EXPECT_LT(a.space_used, 1u << 20);
  bool eof = true;
  auto r = read_at(*fs_, f.ino, 4096, 4096, &eof);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, std::string(4096, '\0'));
  EXPECT_FALSE(eof);
}

TEST_F(HostDirFsIo, ReadOrWriteOfANonRegularFileFails) {
  Attr d = mkdir(root(), "d");
  auto fifo = fs_->mknod(root(), "p", FileType::kFifo, 0644, 0, 0, {});
  ASSERT_TRUE(fifo);
  bool eof;
  std::vector<uint8_t> buf(4);
  EXPECT_EQ(fs_->read(d.ino, 0, buf, &eof).err(), EISDIR);
  EXPECT_EQ(fs_->write(d.ino, 0, as_bytes("x")).err(), EISDIR);
  // Must not block opening the fifo.
  EXPECT_EQ(fs_->read(fifo->ino, 0, buf, &eof).err(), EINVAL);
  EXPECT_EQ(fs_->write(fifo->ino, 0, as_bytes("x")).err(), EINVAL);
}

TEST_F(HostDirFsIo, AnUnlinkedFileStaysReadableWhileItsDescriptorIsCached) {
  Attr f = file_with("f", "still here");
  ASSERT_TRUE(fs_->unlink(root(), "f"));
  EXPECT_EQ(read_all(f.ino), "still here");
  ASSERT_TRUE(fs_->write(f.ino, 0, as_bytes("STILL")));
  EXPECT_EQ(read_all(f.ino), "STILL here");
}

TEST_F(HostDirFsIo, AnUnlinkedFileReadThenWrittenStaysUsable) {
  file_with("f", "abc");
  reopen();
  auto f = fs_->lookup(root(), "f");
  ASSERT_TRUE(f);
  EXPECT_EQ(read_all(f->ino), "abc");  // caches a read-only fd
  ASSERT_TRUE(fs_->unlink(root(), "f"));
  ASSERT_TRUE(fs_->write(f->ino, 3, as_bytes("def")));  // reopens for writing
  EXPECT_EQ(read_all(f->ino), "abcdef");
  EXPECT_EQ(getattr(f->ino).nlink, 0u);
}

TEST_F(HostDirFsIo, RenameDoesNotDisturbAnOpenFile) {
  Attr d = mkdir(root(), "d");
  Attr f = file_with("f", "one");
  ASSERT_TRUE(fs_->rename(root(), "f", d.ino, "g"));
  ASSERT_TRUE(fs_->write(f.ino, 3, as_bytes("two")));
  EXPECT_EQ(read_all(f.ino), "onetwo");
}

// Access modes (O_ACCMODE) of this process's fds open on path.
std::vector<int> access_modes_of_fds_on(const std::string& path) {
  std::vector<int> modes;
  for (const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) {
    std::error_code ec;
    if (std::filesystem::read_symlink(e.path(), ec) != path) continue;
    FILE* info = fopen(("/proc/self/fdinfo/" + e.path().filename().string()).c_str(), "r");
    if (!info) continue;
    char line[128];
    while (fgets(line, sizeof line, info)) {
      unsigned flags;
      if (sscanf(line, "flags: %o", &flags) == 1) modes.push_back(flags & O_ACCMODE);
    }
    fclose(info);
  }
  return modes;
}

TEST_F(HostDirFsIo, ReadsDoNotKeepTheFileOpenForWriting) {
  ASSERT_EQ(close(open(host_path("f").c_str(), O_CREAT | O_WRONLY, 0755)), 0);
  auto f = fs_->lookup(root(), "f");
  ASSERT_TRUE(f);
  read_all(f->ino);
  // A cached writable fd would make exec of the file fail with ETXTBSY.
  EXPECT_EQ(access_modes_of_fds_on(host_path("f")), std::vector<int>{O_RDONLY});
  ASSERT_TRUE(fs_->write(f->ino, 0, as_bytes("x")));
  EXPECT_EQ(access_modes_of_fds_on(host_path("f")), std::vector<int>{O_RDWR});
  EXPECT_EQ(read_all(f->ino), "x");
}

TEST_F(HostDirFsIo, EveryFileStaysUsableBeyondTheDescriptorCacheCapacity) {
  // The cache holds 256 descriptors.
  constexpr int kFiles = 300;
  std::vector<InodeId> files;
  for (int i = 0; i < kFiles; ++i) {
    files.push_back(file_with("f" + std::to_string(i), "data" + std::to_string(i)).ino);
  }
  for (int i = 0; i < kFiles; ++i) EXPECT_EQ(read_all(files[i]), "data" + std::to_string(i));
}

TEST_F(HostDirFsIo, ConcurrentReadersAndWritersOnManyFilesSeeTheirOwnData) {
  constexpr int kThreads = 4, kFiles = 40;
  std::vector<std::vector<InodeId>> inos(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kFiles; ++i) {
      inos[t].push_back(create(root(), "t" + std::to_string(t) + "_" + std::to_string(i)).ino);
    }
  }
  std::vector<int> failures(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 3; ++round) {
        for (int i = 0; i < kFiles; ++i) {
          std::string data = std::to_string(t * 100000 + i * 10 + round);
          if (!fs_->write(inos[t][i], 0, as_bytes(data))) ++failures[t];
          bool eof;
          auto r = read_at(*fs_, inos[t][i], 0, data.size(), &eof);
          if (!r || *r != data) ++failures[t];
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(failures[t], 0) << "thread " << t;
}

TEST_F(HostDirFsIo, WritesToAnImmutableFileFailButReadsWork) {
  Attr f = file_with("f", "frozen");
  int fd = open(host_path("f").c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  int flags = FS_IMMUTABLE_FL;
  const bool immutable = ioctl(fd, FS_IOC_SETFLAGS, &flags) == 0;
  if (!immutable) {
    close(fd);
    GTEST_SKIP() << "cannot set the immutable flag here";
  }
  // Clears the flag even when an assertion below ends the test early, so
  // that TearDown can remove the file.
  struct Thaw {
    int fd;
    ~Thaw() {
      int none = 0;
      ioctl(fd, FS_IOC_SETFLAGS, &none);
      close(fd);
    }
  };
  std::unique_ptr<Thaw> thaw(new Thaw{fd});
  reopen();  // drop the cached read/write descriptor
  ASSERT_TRUE(fs_->lookup(root(), "f"));
  EXPECT_EQ(read_all(f.ino), "frozen");
  EXPECT_EQ(fs_->write(f.ino, 0, as_bytes("x")).err(), EPERM);
  thaw.reset();
  // Writable again: the read-only descriptor is not stuck in the cache.
  EXPECT_TRUE(fs_->write(f.ino, 0, as_bytes("F")));
  EXPECT_EQ(read_all(f.ino), "Frozen");
}

TEST_F(HostDirFsIo, FsyncWorksOnFilesDirectoriesAndSpecialFiles) {
  Attr f = file_with("f", "x");
  Attr d = mkdir(root(), "d");
  auto fifo = fs_->mknod(root(), "p", FileType::kFifo, 0644, 0, 0, {});
  ASSERT_TRUE(fifo);
  for (bool data_only : {false, true}) {
    EXPECT_TRUE(fs_->fsync(f.ino, data_only));
    EXPECT_TRUE(fs_->fsync(d.ino, data_only));
    EXPECT_TRUE(fs_->fsync(fifo->ino, data_only));
  }
  reopen();
  ASSERT_TRUE(fs_->lookup(root(), "f"));
  EXPECT_TRUE(fs_->fsync(f.ino, false));  // not in the descriptor cache
}

TEST_F(HostDirFsIo, ChangeAttributeAdvancesAfterAWriteAndAfterAChmod) {
  Attr f = file_with("f", "v1");
  uint64_t c0 = getattr(f.ino).change;
  ASSERT_TRUE(fs_->write(f.ino, 0, as_bytes("v2")));
  uint64_t c1 = getattr(f.ino).change;
  EXPECT_NE(c1, c0);
  SetAttr sa;
  sa.mode = 0600;
  auto r = fs_->setattr(f.ino, sa);
  ASSERT_TRUE(r);
  EXPECT_NE(r->change, c1);
  EXPECT_EQ(getattr(f.ino).change, r->change);
}

}  // namespace
}  // namespace pnfsgw::backend::testing
