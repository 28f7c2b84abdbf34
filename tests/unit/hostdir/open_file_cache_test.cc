// OpenFileCache: LRU of open descriptors shared with in-flight users.
#include "backend/hostdir/open_file_cache.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

namespace pnfsgw::backend::hostdir {
namespace {

std::shared_ptr<const OpenFile> devnull(bool writable = false) {
  auto f = std::make_shared<OpenFile>();
  f->fd = UniqueFd(::open("/dev/null", (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC));
  f->writable = writable;
  return f;
}

bool is_open(int fd) { return fcntl(fd, F_GETFD) != -1; }

TEST(OpenFileCache, EvictsTheLeastRecentlyUsedEntryBeyondCapacity) {
  OpenFileCache cache(2);
  cache.put(1, devnull());
  cache.put(2, devnull());
  ASSERT_NE(cache.get(1), nullptr);  // 2 is now the oldest
  cache.put(3, devnull());
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_NE(cache.get(1), nullptr);
  EXPECT_EQ(cache.get(2), nullptr);
  EXPECT_NE(cache.get(3), nullptr);
}

TEST(OpenFileCache, AnEvictedDescriptorStaysOpenWhileInUse) {
  OpenFileCache cache(1);
  cache.put(1, devnull());
  auto in_use = cache.get(1);
  const int fd = in_use->fd.get();
  cache.put(2, devnull());
  EXPECT_EQ(cache.get(1), nullptr);
  EXPECT_TRUE(is_open(fd));
  in_use.reset();
  EXPECT_FALSE(is_open(fd));
}

TEST(OpenFileCache, PutReplacesAndEraseClosesWhenUnused) {
  OpenFileCache cache(4);
  cache.put(1, devnull());
  const int first = cache.get(1)->fd.get();
  cache.put(1, devnull());
  EXPECT_EQ(cache.size(), 1u);
  EXPECT_FALSE(is_open(first));
  const int second = cache.get(1)->fd.get();
  cache.erase(1);
  EXPECT_EQ(cache.get(1), nullptr);
  EXPECT_FALSE(is_open(second));
}

TEST(OpenFileCache, AReadOnlyEntryNeverReplacesAWritableOne) {
  OpenFileCache cache(4);
  cache.put(1, devnull(/*writable=*/false));
  cache.put(1, devnull(/*writable=*/true));
  EXPECT_TRUE(cache.get(1)->writable);
  cache.put(1, devnull(/*writable=*/false));
  EXPECT_TRUE(cache.get(1)->writable);
}

}  // namespace
}  // namespace pnfsgw::backend::hostdir
