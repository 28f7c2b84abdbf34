// StoreFs: namespace, read/write, truncate, persistence.
#include <cstring>
#include <set>
#include <thread>

#include "backend/kv/kv.h"
#include "backend/store/store_schema.h"
#include "tests/unit/store/store_fixture.h"

namespace pnfsgw::store::test {
namespace {

using backend::Attr;
using backend::FileType;

TEST_F(StoreTest, FreshStoreHasAnEmptyRootDirectory) {
  auto a = fs_->getattr(fs_->root());
  ASSERT_TRUE(a);
  EXPECT_EQ(a.value().type, FileType::kDirectory);
  EXPECT_EQ(a.value().nlink, 2u);
  auto page = fs_->readdir(fs_->root(), 0, 100);
  ASSERT_TRUE(page);
  EXPECT_TRUE(page.value().entries.empty());
  EXPECT_TRUE(page.value().eof);
}

TEST_F(StoreTest, CreateLookupAndExclusiveCreate) {
  InodeId f = mkfile("a");
  auto l = fs_->lookup(fs_->root(), "a");
  ASSERT_TRUE(l);
  EXPECT_EQ(l.value().ino, f);
  bool created = true;
  auto again = fs_->create(fs_->root(), "a", 0600, {}, backend::CreateMode::kUnchecked, &created);
  ASSERT_TRUE(again);
  EXPECT_FALSE(created);
  EXPECT_EQ(again.value().ino, f);
  EXPECT_EQ(fs_->create(fs_->root(), "a", 0600, {}, backend::CreateMode::kExclusive, &created).err(), EEXIST);
  EXPECT_EQ(fs_->lookup(fs_->root(), "missing").err(), ENOENT);
  EXPECT_EQ(fs_->lookup(f, "x").err(), ENOTDIR);
}

TEST_F(StoreTest, DirectoriesCountLinksAndRefuseRemovalWhenNotEmpty) {
  auto d = fs_->mkdir(fs_->root(), "d", 0755, {1000, 1000});
  ASSERT_TRUE(d);
  EXPECT_EQ(fs_->getattr(fs_->root()).value().nlink, 3u);
  mkfile("f", d.value().ino);
  EXPECT_EQ(fs_->rmdir(fs_->root(), "d").err(), ENOTEMPTY);
  EXPECT_EQ(fs_->unlink(fs_->root(), "d").err(), EISDIR);
  EXPECT_EQ(fs_->rmdir(d.value().ino, "f").err(), ENOTDIR);
  ASSERT_TRUE(fs_->unlink(d.value().ino, "f"));
  ASSERT_TRUE(fs_->rmdir(fs_->root(), "d"));
  EXPECT_EQ(fs_->getattr(fs_->root()).value().nlink, 2u);
  EXPECT_EQ(fs_->getattr(d.value().ino).err(), ESTALE);
  EXPECT_EQ(fs_->lookup_parent(fs_->root()).value().ino, fs_->root());
}

TEST_F(StoreTest, ReaddirCookiesAreStableWhileEntriesComeAndGo) {
  for (int i = 0; i < 50; i++) mkfile("f" + std::to_string(i));
  auto p1 = fs_->readdir(fs_->root(), 0, 20);
  ASSERT_TRUE(p1);
  ASSERT_EQ(p1.value().entries.size(), 20u);
  EXPECT_FALSE(p1.value().eof);
  // Remove an entry already returned and add one: the rest still follows.
  ASSERT_TRUE(fs_->unlink(fs_->root(), p1.value().entries[3].name));
  mkfile("late");
  std::set<std::string> names;
  for (auto& e : p1.value().entries) names.insert(e.name);
  uint64_t cookie = p1.value().entries.back().cookie;
  for (;;) {
    auto p = fs_->readdir(fs_->root(), cookie, 7);
    ASSERT_TRUE(p);
    for (auto& e : p.value().entries) {
      EXPECT_GT(e.cookie, 2u);
      EXPECT_TRUE(names.insert(e.name).second) << "repeated " << e.name;
      cookie = e.cookie;
    }
    if (p.value().eof) break;
  }
  EXPECT_EQ(names.size(), 51u);
  EXPECT_TRUE(names.count("late"));
}

TEST_F(StoreTest, RenameReplacesTargetsAndMovesDirectories) {
  InodeId a = mkfile("a");
  InodeId b = mkfile("b");
  put(a, 0, "alpha");
  put(b, 0, pattern(10000, 'b'));
  ASSERT_TRUE(fs_->rename(fs_->root(), "a", fs_->root(), "b"));
  EXPECT_EQ(fs_->lookup(fs_->root(), "b").value().ino, a);
  EXPECT_EQ(fs_->getattr(b).err(), ESTALE);  // the replaced file is gone, blocks freed
  auto d1 = fs_->mkdir(fs_->root(), "d1", 0755, {}).value().ino;
  auto d2 = fs_->mkdir(d1, "d2", 0755, {}).value().ino;
  EXPECT_EQ(fs_->rename(fs_->root(), "d1", d2, "x").err(), EINVAL);  // into itself
  ASSERT_TRUE(fs_->rename(d1, "d2", fs_->root(), "d2"));
  EXPECT_EQ(fs_->lookup_parent(d2).value().ino, fs_->root());
  EXPECT_EQ(fs_->getattr(d1).value().nlink, 2u);
  EXPECT_EQ(fs_->getattr(fs_->root()).value().nlink, 4u);
  mkfile("f", d2);
  EXPECT_EQ(fs_->rename(fs_->root(), "d1", fs_->root(), "d2").err(), ENOTEMPTY);
  EXPECT_EQ(fs_->rename(fs_->root(), "b", fs_->root(), "d1").err(), EISDIR);
  EXPECT_EQ(fs_->rename(fs_->root(), "d1", fs_->root(), "b").err(), ENOTDIR);
}

TEST_F(StoreTest, HardLinksShareTheInodeUntilTheLastGoes) {
  InodeId f = mkfile("f");
  put(f, 0, "data");
  ASSERT_TRUE(fs_->link(f, fs_->root(), "g"));
  EXPECT_EQ(fs_->getattr(f).value().nlink, 2u);
  ASSERT_TRUE(fs_->unlink(fs_->root(), "f"));
  EXPECT_EQ(all(f), "data");
  ASSERT_TRUE(fs_->unlink(fs_->root(), "g"));
  EXPECT_EQ(fs_->getattr(f).err(), ESTALE);
}

TEST_F(StoreTest, SymlinksAndSpecialFiles) {
  auto s = fs_->symlink(fs_->root(), "s", "target/path", {});
  ASSERT_TRUE(s);
  EXPECT_EQ(fs_->readlink(s.value().ino).value(), "target/path");
  EXPECT_EQ(s.value().size, 11u);
  auto n = fs_->mknod(fs_->root(), "n", FileType::kChar, 0600, 4, 5, {});
  ASSERT_TRUE(n);
  EXPECT_EQ(n.value().rdev_major, 4u);
  EXPECT_EQ(fs_->readlink(n.value().ino).err(), EINVAL);
}

// The inode counter is written only by commits that take a number; a
// commit that only removes must not leave an older one to come back.
TEST_F(StoreTest, NoInodeNumberIsHandedOutTwiceAcrossReopen) {
  InodeId a = mkfile("a");
  InodeId b = mkfile("b");
  ASSERT_TRUE(fs_->unlink(fs_->root(), "b"));
  ASSERT_TRUE(fs_->unlink(fs_->root(), "a"));
  reopen();
  InodeId c = mkfile("c");
  EXPECT_GT(c, b);
  EXPECT_GT(b, a);
  ASSERT_TRUE(fs_->unlink(fs_->root(), "c"));
  reopen();
  EXPECT_GT(mkfile("d"), c);
}

// write_quick(): what a caller on an event loop may do without waiting. It
// writes in place over blocks the file has, or into the write cache, and
// otherwise does nothing.
TEST_F(StoreTest, QuickWritesGoInPlaceOrIntoTheCacheAndOtherwiseLeaveTheFileAlone) {
  auto bytes = [](const char* s) {
    return std::span(reinterpret_cast<const uint8_t*>(s), strlen(s));
  };
  breaker_.at_once = true;  // no layouts to recall, as with the NullBreaker
  InodeId f = mkfile("f");
  auto hole = fs_->write_quick(f, 0, bytes("abcd"));  // blocks needed
#ifdef PNFSGW_STORE_TEST_WRITE_CACHE
  ASSERT_TRUE(hole.has_value());  // kept in the cache
  ASSERT_TRUE(*hole);
  EXPECT_EQ(all(f), "abcd");
#else
  EXPECT_FALSE(hole.has_value());  // a commit
  EXPECT_EQ(size(f), 0u);
#endif
  std::string want = pattern(8192, 'a');
  put(f, 0, want);
  ASSERT_TRUE(fs_->fsync(f, false));  // with the write cache on, written back now
  auto q = fs_->write_quick(f, 100, bytes("XYZ"));
  ASSERT_TRUE(q.has_value());
  ASSERT_TRUE(*q) << strerror(q->err());
  EXPECT_EQ(q->value(), 3u);
  want.replace(100, 3, "XYZ");
  EXPECT_EQ(all(f), want);
  auto past = fs_->write_quick(f, 8190, bytes("12345"));  // extends the file
#ifdef PNFSGW_STORE_TEST_WRITE_CACHE
  ASSERT_TRUE(past.has_value());
  want.replace(8190, 2, "12");
  want += "345";
  ASSERT_TRUE(fs_->fsync(f, false));
#else
  EXPECT_FALSE(past.has_value());
#endif
  breaker_.at_once = false;  // layouts may exist: a break could wait for a recall
  EXPECT_FALSE(fs_->write_quick(f, 0, bytes("Q")).has_value());
  EXPECT_EQ(all(f), want);
}

TEST_F(StoreTest, HandlesResolveAcrossReopenAndGoStaleWhenRemoved) {
  InodeId f = mkfile("f");
  auto h = fs_->encode_handle(f).value();
  reopen();
  auto span = std::span(reinterpret_cast<const uint8_t*>(h.data()), h.size());
  EXPECT_EQ(fs_->resolve_handle(span).value(), f);
  ASSERT_TRUE(fs_->unlink(fs_->root(), "f"));
  EXPECT_EQ(fs_->resolve_handle(span).err(), ESTALE);
  std::string junk = h;
  junk[0] ^= 1;
  EXPECT_EQ(fs_->resolve_handle(std::span(reinterpret_cast<const uint8_t*>(junk.data()), junk.size())).err(), ESTALE);
}

TEST(StoreSchema, KeysKeepTheirOnDiskBytes) {
  // Built in place for speed; the bytes must stay KeyBuilder's (big-endian
  // fields), which existing stores hold.
  using backend::kv::KeyBuilder;
  for (uint64_t a : {uint64_t{0}, uint64_t{1}, uint64_t{0x0102030405060708}, ~uint64_t{0}})
    for (uint64_t b : {uint64_t{0}, uint64_t{255}, uint64_t{1} << 40}) {
      EXPECT_EQ(extent_key(a, b), KeyBuilder().u64(a).u64(b).str());
      EXPECT_EQ(block_key(a), KeyBuilder().u64(a).str());
      EXPECT_EQ(ino_key(b), KeyBuilder().u64(b).str());
      uint64_t back = 0;
      EXPECT_TRUE(decode_block_key(block_key(a), &back));
      EXPECT_EQ(back, a);
    }
}

TEST_F(StoreTest, ResolvingAHandleWithItsAttributesAnswersAsResolveThenGetattr) {
  InodeId f = mkfile("f");
  put(f, 0, "some bytes");
  auto h = fs_->encode_handle(f).value();
  auto span = std::span(reinterpret_cast<const uint8_t*>(h.data()), h.size());
  std::optional<Result<Attr>> attr;
  ASSERT_EQ(fs_->resolve_handle_attr(span, &attr).value(), f);
  ASSERT_TRUE(attr && *attr);
  auto want = fs_->getattr(f).value();
  EXPECT_EQ((*attr)->ino, want.ino);
  EXPECT_EQ((*attr)->size, want.size);
  EXPECT_EQ((*attr)->change, want.change);
  EXPECT_EQ((*attr)->mtime, want.mtime);
  put(f, 2, "X");  // an overwrite in place: its times and change show too
  attr.reset();
  ASSERT_TRUE(fs_->resolve_handle_attr(span, &attr));
  EXPECT_EQ((*attr)->change, fs_->getattr(f).value().change);
  EXPECT_GT((*attr)->change, want.change);
  ASSERT_TRUE(fs_->unlink(fs_->root(), "f"));
  attr.reset();
  EXPECT_EQ(fs_->resolve_handle_attr(span, &attr).err(), ESTALE);
  EXPECT_FALSE(attr);
  std::string junk = h;
  junk[0] ^= 1;
  EXPECT_EQ(fs_->resolve_handle_attr(std::span(reinterpret_cast<const uint8_t*>(junk.data()), junk.size()), &attr).err(), ESTALE);
}

TEST_F(StoreTest, UnalignedWritesReadBackWithZeroesInHoles) {
  SKIP_WITH_WRITE_CACHE("counts the blocks a write allocates at once");
  InodeId f = mkfile("f");
  put(f, 5000, "hello");
  EXPECT_EQ(size(f), 5005u);
  std::string want(5005, '\0');
  want.replace(5000, 5, "hello");
  EXPECT_EQ(all(f), want);
  put(f, 4090, "0123456789ab");  // across a block boundary, partly into a hole
  want.replace(4090, 12, "0123456789ab");
  EXPECT_EQ(all(f), want);
  EXPECT_EQ(used(f), 2 * kBlockSize);
}

TEST_F(StoreTest, LargeWritesStayContiguousAndOverwriteInPlace) {
  InodeId f = mkfile("f");
  std::string big = pattern(3 << 20, 'a');
  for (size_t off = 0; off < big.size(); off += 1 << 20) put(f, off, big.substr(off, 1 << 20));
  auto ext = fs_->list_extents(f, 0, UINT64_MAX).value();
  EXPECT_EQ(ext.size(), 1u) << "sequential writes should extend one extent";
  put(f, 12345, "XYZ");
  big.replace(12345, 3, "XYZ");
  EXPECT_EQ(all(f), big);
  EXPECT_EQ(fs_->list_extents(f, 0, UINT64_MAX).value().size(), 1u);
}

TEST_F(StoreTest, ReadsStopAtEof) {
  InodeId f = mkfile("f");
  put(f, 0, "abc");
  std::string buf(10, 'x');
  bool eof = false;
  auto r = fs_->read(f, 1, std::span(reinterpret_cast<uint8_t*>(buf.data()), 10), &eof);
  ASSERT_TRUE(r);
  EXPECT_EQ(r.value(), 2u);
  EXPECT_TRUE(eof);
  r = fs_->read(f, 100, std::span(reinterpret_cast<uint8_t*>(buf.data()), 10), &eof);
  EXPECT_EQ(r.value(), 0u);
  EXPECT_TRUE(eof);
  auto d = fs_->mkdir(fs_->root(), "d", 0755, {}).value().ino;
  EXPECT_EQ(fs_->read(d, 0, std::span(reinterpret_cast<uint8_t*>(buf.data()), 10), &eof).err(), EISDIR);
}

TEST_F(StoreTest, TruncateDownZeroesTheTailAndFreesBlocks) {
  InodeId f = mkfile("f");
  put(f, 0, pattern(20000, 'q'));
  backend::SetAttr sa;
  sa.size = 5000;
  ASSERT_TRUE(fs_->setattr(f, sa));
  EXPECT_EQ(used(f), 2 * kBlockSize);
  sa.size = 9000;  // extend again: bytes past the old EOF read as zeroes
  ASSERT_TRUE(fs_->setattr(f, sa));
  std::string want = pattern(20000, 'q').substr(0, 5000) + std::string(4000, '\0');
  EXPECT_EQ(all(f), want);
}

TEST_F(StoreTest, SetattrChangesModeOwnerTimesAndBumpsChange) {
  InodeId f = mkfile("f");
  uint64_t c0 = fs_->getattr(f).value().change;
  backend::SetAttr sa;
  sa.mode = 04711;
  sa.uid = 7;
  sa.gid = 8;
  sa.mtime_how = backend::SetAttr::TimeHow::kGiven;
  sa.mtime = {1000, 5};
  auto a = fs_->setattr(f, sa);
  ASSERT_TRUE(a);
  EXPECT_EQ(a.value().mode, 04711u);
  EXPECT_EQ(a.value().uid, 7u);
  EXPECT_EQ(a.value().mtime, (backend::Timespec{1000, 5}));
  EXPECT_GT(a.value().change, c0);
  put(f, 0, "x");
  EXPECT_GT(fs_->getattr(f).value().change, a.value().change);
}

TEST_F(StoreTest, EverythingSurvivesReopen) {
  auto d = fs_->mkdir(fs_->root(), "d", 0755, {}).value().ino;
  InodeId f = mkfile("f", d);
  std::string data = pattern(100000, 'r');
  put(f, 7, data);
  ASSERT_TRUE(fs_->fsync(f, false));
  reopen();
  EXPECT_EQ(fs_->lookup(d, "f").value().ino, f);
  EXPECT_EQ(all(f), std::string(7, '\0') + data);
  InodeId g = mkfile("g");  // inode numbers are never reused
  EXPECT_GT(g, f);
}

TEST_F(StoreTest, StatfsReportsFreeSpace) {
  SKIP_WITH_WRITE_CACHE("counts the blocks a write allocates at once");
  auto s0 = fs_->statfs().value();
  EXPECT_EQ(s0.bytes_total, kDevSize - kBlockSize);
  InodeId f = mkfile("f");
  put(f, 0, pattern(1 << 20, 'z'));
  auto s1 = fs_->statfs().value();
  EXPECT_EQ(s0.bytes_free - s1.bytes_free, 1u << 20);
  ASSERT_TRUE(fs_->unlink(fs_->root(), "f"));
  mkfile("g");  // a later change returns released quarantine to free space
  EXPECT_EQ(fs_->statfs().value().bytes_free, s0.bytes_free);
}

TEST_F(StoreTest, FullDeviceAnswersEnospcAndKeepsData) {
  InodeId f = mkfile("f");
  std::string chunk = pattern(8 << 20, 'f');
  uint64_t off = 0;
  for (;;) {
    auto w = fs_->write(f, off, std::span(reinterpret_cast<const uint8_t*>(chunk.data()), chunk.size()));
    if (!w) {
      EXPECT_EQ(w.err(), ENOSPC);
      break;
    }
    off += chunk.size();
  }
  EXPECT_EQ(size(f), off);
  EXPECT_EQ(get(f, off - chunk.size(), chunk.size()), chunk);
}

}  // namespace
}  // namespace pnfsgw::store::test

namespace pnfsgw::store::test {
namespace {

TEST_F(StoreTest, ConcurrentChangesShareCommits) {
  SKIP_WITH_WRITE_CACHE("counts the commits of writes");
  constexpr int kThreads = 8, kEach = 40;
  uint64_t changes0 = fs_->changes_committed(), commits0 = fs_->kv_commits();
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; t++) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; i++) {
        std::string name = "t" + std::to_string(t) + "-" + std::to_string(i);
        auto a = fs_->create(fs_->root(), name, 0644, {}, backend::CreateMode::kExclusive, nullptr);
        ASSERT_TRUE(a) << name;
        std::string d = name + " data";
        ASSERT_TRUE(fs_->write(a.value().ino, 0, std::span(reinterpret_cast<const uint8_t*>(d.data()), d.size())));
      }
    });
  }
  for (auto& th : threads) th.join();
  uint64_t changes = fs_->changes_committed() - changes0, commits = fs_->kv_commits() - commits0;
  EXPECT_EQ(changes, uint64_t(2 * kThreads * kEach));
  EXPECT_LT(commits, changes) << "no two changes ever shared a commit";
  printf("%llu changes in %llu commits\n", (unsigned long long)changes, (unsigned long long)commits);
  reopen();
  for (int t = 0; t < kThreads; t++)
    for (int i = 0; i < kEach; i++) {
      std::string name = "t" + std::to_string(t) + "-" + std::to_string(i);
      auto a = fs_->lookup(fs_->root(), name);
      ASSERT_TRUE(a) << name;
      EXPECT_EQ(all(a.value().ino), name + " data");
    }
}

}  // namespace
}  // namespace pnfsgw::store::test
