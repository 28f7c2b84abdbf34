// StoreFs: fallocate modes, clone/dedupe/copy, seek, the break each
// operation asks for, quarantine, pins, media errors, and a randomized run
// against a byte model.
#include <functional>
#include <random>
#include <thread>

#include "backend/kv/kv.h"
#include "tests/unit/store/store_fixture.h"

namespace pnfsgw::store::test {
namespace {

constexpr uint64_t B = kBlockSize;
constexpr uint64_t kToEof = UINT64_MAX;

uint64_t eof_len(uint64_t off) { return kToEof - off; }

TEST_F(StoreTest, AllocatePreallocatesUnwrittenBlocksThatReadAsZeroes) {
  InodeId f = mkfile("f");
  ASSERT_TRUE(fs_->allocate(f, 1000, 3 * B));
  EXPECT_EQ(size(f), 1000 + 3 * B);
  EXPECT_EQ(used(f), 4 * B);
  EXPECT_EQ(all(f), std::string(1000 + 3 * B, '\0'));
  auto ext = fs_->list_extents(f, 0, kToEof).value();
  ASSERT_EQ(ext.size(), 1u);
  EXPECT_TRUE(ext[0].unwritten);
  put(f, B + 10, "abc");  // written in place inside the preallocation
  std::string want(1000 + 3 * B, '\0');
  want.replace(B + 10, 3, "abc");
  EXPECT_EQ(all(f), want);
  EXPECT_EQ(used(f), 4 * B);
  EXPECT_EQ(breaker_.take().front(), (BreakRecord{f, 0, 4 * B, BreakKind::kWrite}));
}

TEST_F(StoreTest, PunchHoleZeroesEdgesUnmapsMiddleAndNeverExtends) {
  SKIP_WITH_WRITE_CACHE("counts the breaks of writes");
  InodeId f = mkfile("f");
  std::string data = pattern(6 * B, 'p');
  put(f, 0, data);
  breaker_.take();
  ASSERT_TRUE(fs_->punch_hole(f, 100, 3 * B));
  data.replace(100, 3 * B, std::string(3 * B, '\0'));
  EXPECT_EQ(all(f), data);
  EXPECT_EQ(used(f), 4 * B);  // blocks 1 and 2 went, 0 and 3 keep their other bytes
  EXPECT_EQ(breaker_.take(), (std::vector<BreakRecord>{{f, 0, 4 * B, BreakKind::kUnmap}}));
  ASSERT_TRUE(fs_->punch_hole(f, 5 * B, 100 * B));  // past EOF: size stays
  EXPECT_EQ(size(f), 6 * B);
  EXPECT_EQ(fs_->punch_hole(f, 0, 0).err(), EINVAL);
}

TEST_F(StoreTest, ZeroRangeLeavesPreallocatedBlocksAndCanExtend) {
  InodeId f = mkfile("f");
  std::string data = pattern(4 * B, 'z');
  put(f, 0, data);
  ASSERT_TRUE(fs_->zero_range(f, B / 2, 2 * B));
  data.replace(B / 2, 2 * B, std::string(2 * B, '\0'));
  EXPECT_EQ(all(f), data);
  ASSERT_TRUE(fs_->zero_range(f, 4 * B, 2 * B));
  EXPECT_EQ(size(f), 6 * B);
  EXPECT_EQ(all(f), data + std::string(2 * B, '\0'));
  bool saw_unwritten = false;
  for (auto& e : fs_->list_extents(f, 0, kToEof).value()) saw_unwritten |= e.unwritten;
  EXPECT_TRUE(saw_unwritten);
}

TEST_F(StoreTest, InsertRangeShiftsDataUpAndBreaksToEof) {
  SKIP_WITH_WRITE_CACHE("counts the breaks of writes");
  InodeId f = mkfile("f");
  std::string data = pattern(5 * B, 'i');
  put(f, 0, data);
  breaker_.take();
  ASSERT_TRUE(fs_->insert_range(f, 2 * B, 3 * B));
  EXPECT_EQ(breaker_.take(), (std::vector<BreakRecord>{{f, 2 * B, eof_len(2 * B), BreakKind::kUnmap}}));
  std::string want = data.substr(0, 2 * B) + std::string(3 * B, '\0') + data.substr(2 * B);
  EXPECT_EQ(all(f), want);
  EXPECT_EQ(fs_->insert_range(f, 100, B).err(), EINVAL);    // unaligned
  EXPECT_EQ(fs_->insert_range(f, 8 * B, B).err(), EINVAL);  // at EOF
}

TEST_F(StoreTest, CollapseRangeShiftsDataDownOverHolesAndPreallocation) {
  SKIP_WITH_WRITE_CACHE("counts the breaks of writes");
  InodeId f = mkfile("f");
  std::string want = pattern(2 * B, 'c');
  put(f, 0, want);
  ASSERT_TRUE(fs_->allocate(f, 2 * B, 2 * B));  // unwritten
  put(f, 6 * B, pattern(B, 'd'));                // hole at 4..5
  want += std::string(4 * B, '\0') + pattern(B, 'd');
  breaker_.take();
  ASSERT_TRUE(fs_->collapse_range(f, B, 4 * B));
  EXPECT_EQ(breaker_.take(), (std::vector<BreakRecord>{{f, B, eof_len(B), BreakKind::kUnmap}}));
  want.erase(B, 4 * B);
  EXPECT_EQ(all(f), want);
  EXPECT_EQ(size(f), 3 * B);
  EXPECT_EQ(fs_->collapse_range(f, B, 2 * B).err(), EINVAL);  // reaches EOF
}

TEST_F(StoreTest, CloneSharesBlocksAndWritesCopyOnWrite) {
  SKIP_WITH_WRITE_CACHE("counts the breaks of writes");
  InodeId a = mkfile("a");
  InodeId b = mkfile("b");
  std::string data = pattern(4 * B, 'x');
  put(a, 0, data);
  auto free0 = fs_->statfs().value().bytes_free;
  breaker_.take();
  ASSERT_TRUE(fs_->clone_range(a, 0, b, 0, 4 * B));
  auto br = breaker_.take();
  ASSERT_EQ(br.size(), 2u);
  EXPECT_EQ(br[0], (BreakRecord{a, 0, 4 * B, BreakKind::kWrite}));  // source: blocks become shared
  EXPECT_EQ(br[1], (BreakRecord{b, 0, 4 * B, BreakKind::kUnmap}));  // destination: remapped
  EXPECT_EQ(fs_->statfs().value().bytes_free, free0);                // no data copied
  EXPECT_EQ(all(b), data);
  auto ext = fs_->list_extents(b, 0, kToEof).value();
  ASSERT_EQ(ext.size(), 1u);
  EXPECT_TRUE(ext[0].shared);
  // A write into a shared block: copy-on-write, a BREAK_UNMAP of its blocks.
  put(a, 10, "NEW");
  EXPECT_EQ(breaker_.take().front(), (BreakRecord{a, 0, B, BreakKind::kUnmap}));
  EXPECT_EQ(all(b), data);
  std::string a_want = data;
  a_want.replace(10, 3, "NEW");
  EXPECT_EQ(all(a), a_want);
  // The source going away leaves the clone intact.
  ASSERT_TRUE(fs_->unlink(fs_->root(), "a"));
  EXPECT_EQ(all(b), data);
  EXPECT_FALSE(fs_->list_extents(b, 0, kToEof).value()[0].shared);
}

TEST_F(StoreTest, CloneChecksAlignmentAndOverlap) {
  InodeId a = mkfile("a");
  InodeId b = mkfile("b");
  put(a, 0, pattern(3 * B + 100, 'y'));
  EXPECT_EQ(fs_->clone_range(a, 100, b, 0, B).err(), EINVAL);
  EXPECT_EQ(fs_->clone_range(a, 0, b, 0, 100).err(), EINVAL);      // unaligned, not at EOF
  EXPECT_EQ(fs_->clone_range(a, 0, a, B, 2 * B).err(), EINVAL);    // overlapping in one file
  EXPECT_EQ(fs_->clone_range(a, 0, b, 0, 10 * B).err(), EINVAL);   // past the source's EOF
  ASSERT_TRUE(fs_->clone_range(a, 0, b, B, 0));                    // 0 = to EOF, tail partial
  EXPECT_EQ(size(b), B + 3 * B + 100);
  EXPECT_EQ(get(b, B, 3 * B + 100), pattern(3 * B + 100, 'y'));
}

TEST_F(StoreTest, DedupeSharesOnlyEqualData) {
  InodeId a = mkfile("a");
  InodeId b = mkfile("b");
  put(a, 0, pattern(2 * B, 'e'));
  put(b, 0, pattern(2 * B, 'e'));
  put(b, 2 * B, pattern(B, 'f'));
  EXPECT_EQ(fs_->dedupe_range(a, 0, b, B, B).err(), EBADE);
  EXPECT_FALSE(fs_->list_extents(b, 0, kToEof).value()[0].shared);
  auto n = fs_->dedupe_range(a, 0, b, 0, 2 * B);
  ASSERT_TRUE(n);
  EXPECT_EQ(n.value(), 2 * B);
  EXPECT_TRUE(fs_->list_extents(b, 0, 2 * B).value()[0].shared);
  EXPECT_EQ(all(b), pattern(2 * B, 'e') + pattern(B, 'f'));
}

TEST_F(StoreTest, CopyRangeReflinksAlignedPartsAndCopiesTheRest) {
  InodeId a = mkfile("a");
  InodeId b = mkfile("b");
  std::string data = pattern(5 * B + 300, 'k');
  put(a, 0, data);
  auto n = fs_->copy_range(a, 100, b, 100, 4 * B);
  ASSERT_TRUE(n);
  EXPECT_EQ(n.value(), 4 * B);
  EXPECT_EQ(get(b, 100, 4 * B), data.substr(100, 4 * B));
  bool shared = false;
  for (auto& e : fs_->list_extents(b, 0, kToEof).value()) shared |= e.shared;
  EXPECT_TRUE(shared);
  n = fs_->copy_range(a, 7, b, 10 * B + 3, 1 << 30);  // misaligned: bytes; clipped at EOF
  ASSERT_TRUE(n);
  EXPECT_EQ(n.value(), data.size() - 7);
  EXPECT_EQ(get(b, 10 * B + 3, data.size() - 7), data.substr(7));
  EXPECT_EQ(fs_->copy_range(a, data.size(), b, 0, 10).value(), 0u);
}

TEST_F(StoreTest, SeekFindsDataAndHoles) {
  InodeId f = mkfile("f");
  put(f, 2 * B, pattern(B, 's'));
  ASSERT_TRUE(fs_->allocate(f, 4 * B, B));  // unwritten counts as a hole
  put(f, 6 * B, "end");
  using backend::SeekWhat;
  EXPECT_EQ(fs_->seek(f, 0, SeekWhat::kData).value(), 2 * B);
  EXPECT_EQ(fs_->seek(f, 2 * B + 5, SeekWhat::kData).value(), 2 * B + 5);
  EXPECT_EQ(fs_->seek(f, 2 * B, SeekWhat::kHole).value(), 3 * B);
  EXPECT_EQ(fs_->seek(f, 3 * B, SeekWhat::kData).value(), 6 * B);
  EXPECT_EQ(fs_->seek(f, 0, SeekWhat::kHole).value(), 0u);
  EXPECT_EQ(fs_->seek(f, 6 * B, SeekWhat::kHole).value(), 6 * B + 3);  // EOF is a hole
  EXPECT_EQ(fs_->seek(f, 6 * B + 3, SeekWhat::kData).err(), ENXIO);
}

TEST_F(StoreTest, WritesAndTruncatesAskForTheRightBreaks) {
  SKIP_WITH_WRITE_CACHE("counts the breaks of writes");
  InodeId f = mkfile("f");
  breaker_.take();
  put(f, 100, "abc");
  EXPECT_EQ(breaker_.take(), (std::vector<BreakRecord>{{f, 0, B, BreakKind::kWrite}}));
  backend::SetAttr sa;
  sa.size = 3 * B;
  ASSERT_TRUE(fs_->setattr(f, sa));
  EXPECT_EQ(breaker_.take(), (std::vector<BreakRecord>{{f, 0, 3 * B, BreakKind::kWrite}}));
  sa.size = B + 1;
  ASSERT_TRUE(fs_->setattr(f, sa));
  EXPECT_EQ(breaker_.take(), (std::vector<BreakRecord>{{f, B, eof_len(B), BreakKind::kUnmap}}));
  put(f, 0, pattern(2 * B, 'u'));
  breaker_.take();
  ASSERT_TRUE(fs_->unshare(f, 0, 2 * B));
  EXPECT_EQ(breaker_.take(), (std::vector<BreakRecord>{{f, 0, 2 * B, BreakKind::kUnmap}}));
  ASSERT_TRUE(fs_->unlink(fs_->root(), "f"));  // the last link: the whole file
  EXPECT_EQ(breaker_.take(), (std::vector<BreakRecord>{{f, 0, kToEof, BreakKind::kUnmap}}));
}

TEST_F(StoreTest, UnshareGivesPrivateCopies) {
  InodeId a = mkfile("a");
  InodeId b = mkfile("b");
  put(a, 0, pattern(3 * B, 'h'));
  ASSERT_TRUE(fs_->clone_range(a, 0, b, 0, 3 * B));
  ASSERT_TRUE(fs_->unshare(b, B, B));
  auto ext = fs_->list_extents(b, 0, kToEof).value();
  ASSERT_EQ(ext.size(), 3u);
  EXPECT_TRUE(ext[0].shared);
  EXPECT_FALSE(ext[1].shared);
  EXPECT_TRUE(ext[2].shared);
  EXPECT_EQ(all(b), pattern(3 * B, 'h'));
}

TEST_F(StoreTest, QuarantinedBlocksAreNotReusedUntilReleased) {
  breaker_.hold = true;
  InodeId f = mkfile("f");
  put(f, 0, pattern(4 * B, 'q'));
  uint64_t free0 = fs_->statfs().value().bytes_free;
  ASSERT_TRUE(fs_->punch_hole(f, 0, 4 * B));
  EXPECT_EQ(fs_->quarantined_blocks(), 4u);
  InodeId g = mkfile("g");
  put(g, 0, pattern(B, 'g'));
  EXPECT_EQ(fs_->statfs().value().bytes_free, free0 - B);  // not taken from quarantine
  breaker_.release_all();
  mkfile("h");  // the next change frees what the breaker released
  EXPECT_EQ(fs_->quarantined_blocks(), 0u);
  EXPECT_EQ(fs_->statfs().value().bytes_free, free0 + 3 * B);
}

TEST_F(StoreTest, QuarantineLeftByACrashIsReleasedAtOpen) {
  breaker_.hold = true;
  InodeId f = mkfile("f");
  put(f, 0, pattern(2 * B, 'q'));
  ASSERT_TRUE(fs_->punch_hole(f, 0, 2 * B));
  EXPECT_EQ(fs_->quarantined_blocks(), 2u);
  breaker_.held.clear();  // the breaker dies with the process
  reopen();
  EXPECT_EQ(fs_->quarantined_blocks(), 0u);
}

TEST_F(StoreTest, UnmapWaitsForPinsOnItsBlocks) {
  InodeId f = mkfile("f");
  put(f, 0, pattern(2 * B, 'w'));
  uint64_t pblk = fs_->list_extents(f, 0, kToEof).value()[0].physical / B;
  std::atomic<bool> done{false};
  std::thread t;
  {
    PinTable::Pin pin = fs_->pins().pin({{pblk, 1}});
    t = std::thread([&] {
      EXPECT_TRUE(fs_->punch_hole(f, 0, B));
      done = true;
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    EXPECT_FALSE(done.load()) << "punch ran while its block was pinned";
  }
  t.join();
  EXPECT_TRUE(done.load());
}

TEST_F(StoreTest, MediaErrorFailsReadsOfOwnersUntilRewritten) {
  InodeId a = mkfile("a");
  InodeId b = mkfile("b");
  put(a, 0, pattern(3 * B, 'm'));
  put(b, 0, pattern(B, 'n'));
  uint64_t pa = fs_->list_extents(a, 0, kToEof).value()[0].physical;
  dev_->fail_range(pa + B, B);
  std::string buf(3 * B, '\0');
  bool eof;
  EXPECT_EQ(fs_->read(a, 0, std::span(reinterpret_cast<uint8_t*>(buf.data()), buf.size()), &eof).err(), EIO);
  dev_->clear_fail();  // the block stays known bad even when the device recovers
  EXPECT_EQ(fs_->read(a, B, std::span(reinterpret_cast<uint8_t*>(buf.data()), 10), &eof).err(), EIO);
  EXPECT_EQ(get(a, 0, B), pattern(3 * B, 'm').substr(0, B));  // other blocks read fine
  EXPECT_EQ(all(b), pattern(B, 'n'));
  put(a, B, pattern(B, 'r'));  // rewriting the whole block moves it off the bad one
  EXPECT_EQ(get(a, B, B), pattern(B, 'r'));
  EXPECT_FALSE(fs_->read_only());
}

TEST_F(StoreTest, MediaErrorReportedOnFreeBlocksTakesThemOutOfService) {
  uint64_t free0 = fs_->statfs().value().bytes_free;
  fs_->media_error(10 * B, 2 * B);
  EXPECT_EQ(fs_->statfs().value().bytes_free, free0 - 2 * B);
}

TEST_F(StoreTest, MediaErrorInTheSuperblockMakesTheStoreReadOnly) {
  InodeId f = mkfile("f");
  fs_->media_error(0, 512);
  EXPECT_TRUE(fs_->read_only());
  EXPECT_EQ(fs_->write(f, 0, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>("x"), 1)).err(), EROFS);
  EXPECT_EQ(fs_->create(fs_->root(), "g", 0644, {}, backend::CreateMode::kExclusive, nullptr).err(), EROFS);
  EXPECT_TRUE(fs_->getattr(f));  // reads go on
}

TEST_F(StoreTest, FsckReportsABrokenInvariantPrecisely) {
  InodeId f = mkfile("f");
  put(f, 0, pattern(2 * B, 'k'));
  // Corrupt: drop the refcount-free mapping's rmap record behind the store's back.
  fs_.reset();
  {
    auto kv = backend::kv::KvStore::open(opt_.meta_dir, opt_.meta_map_size, 16).value();
    auto rmap = kv->open_db("rmap").value();
    auto w = kv->begin_write().value();
    std::string first;
    ASSERT_TRUE(w->for_each(rmap, "", "", [&](std::string_view k, std::string_view) {
      first = std::string(k);
      return false;
    }));
    ASSERT_TRUE(w->del(rmap, first));
    ASSERT_TRUE(w->commit());
  }
  reopen();
  auto problems = fs_->check().value();
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].what.find("rmap: no record for extent of " + std::to_string(f)), std::string::npos)
      << problems[0].what;
  fs_.reset();  // skip the fixture's clean check
}

// Random operations on two files against a byte model of each.
TEST_F(StoreTest, RandomOperationsMatchAByteModel) {
  std::mt19937_64 rng(12345);
  InodeId ino[2] = {mkfile("m0"), mkfile("m1")};
  std::string model[2];
  auto pick = [&](uint64_t n) { return n == 0 ? 0 : rng() % n; };
  auto aligned = [&](uint64_t n) { return pick(n / B + 1) * B; };
  for (int step = 0; step < 600; step++) {
    int i = static_cast<int>(pick(2));
    InodeId f = ino[i];
    std::string& m = model[i];
    uint64_t limit = 24 * B;
    switch (pick(9)) {
      case 0: case 1: {  // write
        uint64_t off = pick(limit), len = 1 + pick(3 * B);
        std::string d = pattern(len, static_cast<char>('a' + step % 26));
        put(f, off, d);
        if (m.size() < off + len) m.resize(off + len, '\0');
        m.replace(off, len, d);
        break;
      }
      case 2: {  // truncate
        uint64_t ns = pick(limit);
        backend::SetAttr sa;
        sa.size = ns;
        ASSERT_TRUE(fs_->setattr(f, sa));
        m.resize(ns, '\0');
        break;
      }
      case 3: {  // punch
        uint64_t off = pick(limit), len = 1 + pick(4 * B);
        ASSERT_TRUE(fs_->punch_hole(f, off, len));
        if (off < m.size()) m.replace(off, std::min<uint64_t>(len, m.size() - off), std::min<uint64_t>(len, m.size() - off), '\0');
        break;
      }
      case 4: {  // zero range
        uint64_t off = pick(limit), len = 1 + pick(4 * B);
        ASSERT_TRUE(fs_->zero_range(f, off, len));
        if (m.size() < off + len) m.resize(off + len, '\0');
        m.replace(off, len, len, '\0');
        break;
      }
      case 5: {  // insert range
        if (m.size() < B) break;
        uint64_t off = aligned(m.size() - 1), len = B * (1 + pick(3));
        if (off >= m.size()) break;
        ASSERT_TRUE(fs_->insert_range(f, off, len)) << step;
        m.insert(off, len, '\0');
        break;
      }
      case 6: {  // collapse range
        uint64_t off = aligned(m.size()), len = B * (1 + pick(3));
        if (off + len >= m.size()) break;
        ASSERT_TRUE(fs_->collapse_range(f, off, len)) << step;
        m.erase(off, len);
        break;
      }
      case 7: {  // clone from the other file
        std::string& s = model[1 - i];
        if (s.size() < B) break;
        uint64_t soff = aligned(s.size() - 1), doff = aligned(limit);
        uint64_t len = std::min<uint64_t>(B * (1 + pick(4)), (s.size() - soff) / B * B);
        if (len == 0) break;
        ASSERT_TRUE(fs_->clone_range(ino[1 - i], soff, f, doff, len)) << step;
        if (m.size() < doff + len) m.resize(doff + len, '\0');
        m.replace(doff, len, s.substr(soff, len));
        break;
      }
      case 8: {  // copy from the other file, any alignment
        std::string& s = model[1 - i];
        if (s.empty()) break;
        uint64_t soff = pick(s.size()), doff = pick(limit), len = 1 + pick(3 * B);
        auto n = fs_->copy_range(ino[1 - i], soff, f, doff, len);
        ASSERT_TRUE(n) << step;
        uint64_t got = std::min<uint64_t>(len, s.size() - soff);
        ASSERT_EQ(n.value(), got);
        if (m.size() < doff + got) m.resize(doff + got, '\0');
        m.replace(doff, got, s.substr(soff, got));
        break;
      }
    }
    ASSERT_EQ(size(f), m.size()) << "step " << step;
    if (step % 25 == 0) {
      ASSERT_EQ(all(ino[0]), model[0]) << "step " << step;
      ASSERT_EQ(all(ino[1]), model[1]) << "step " << step;
      auto problems = fs_->check().value();
      ASSERT_TRUE(problems.empty()) << "step " << step << ": " << problems[0].what;
    }
  }
  EXPECT_EQ(all(ino[0]), model[0]);
  EXPECT_EQ(all(ino[1]), model[1]);
}

}  // namespace
}  // namespace pnfsgw::store::test

namespace pnfsgw::store::test {
namespace {

TEST_F(StoreTest, OverwriteInPlaceBumpsChangeAndMtimeWithoutACommitAndKeepsThemOnFsync) {
  InodeId f = mkfile("f");
  put(f, 0, pattern(4 * B, 'o'));
  auto a0 = fs_->getattr(f).value();
  uint64_t free0 = fs_->statfs().value().bytes_free;
  put(f, 100, "in place");
  auto a1 = fs_->getattr(f).value();
  EXPECT_GT(a1.change, a0.change);
  EXPECT_EQ(fs_->statfs().value().bytes_free, free0);  // no new blocks
  EXPECT_EQ(get(f, 100, 8), "in place");
  ASSERT_TRUE(fs_->fsync(f, false));
  reopen();  // a new boot: every change attribute moves on, never back
  auto a2 = fs_->getattr(f).value();
  EXPECT_GT(a2.change, a1.change);
  EXPECT_EQ(a2.mtime, a1.mtime);
  EXPECT_EQ(get(f, 100, 8), "in place");
}

TEST_F(StoreTest, WithBreaksGrantedAtOnceAnOverwriteInPlaceBreaksOnceAndOtherWritesStillLand) {
  // No layouts (the server's NullBreaker): the in-place path skips its check
  // before the break; the answers must not change.
  breaker_.at_once = true;
  InodeId f = mkfile("f");
  std::string model = pattern(4 * B, 'o');
  put(f, 0, model);
  ASSERT_TRUE(fs_->fsync(f, false));
  auto a0 = fs_->getattr(f).value();
  uint64_t free0 = fs_->statfs().value().bytes_free;
  breaker_.take();
  put(f, B + 100, "in place");
  model.replace(B + 100, 8, "in place");
  EXPECT_EQ(breaker_.take(), (std::vector<BreakRecord>{{f, B, B, BreakKind::kWrite}}));
  EXPECT_EQ(fs_->statfs().value().bytes_free, free0);  // no new blocks
  EXPECT_GT(fs_->getattr(f).value().change, a0.change);
  // Writes that cannot go in place: past EOF, and into a hole.
  put(f, 4 * B - 3, "extends");
  model.replace(4 * B - 3, 3, "extends");
  put(f, 6 * B, "after a hole");
  model.resize(6 * B, '\0');
  model += "after a hole";
  put(f, 5 * B + 1, "in the hole");
  model.replace(5 * B + 1, 11, "in the hole");
  EXPECT_EQ(all(f), model);
  ASSERT_TRUE(fs_->fsync(f, false));
  reopen();
  EXPECT_EQ(all(f), model);
}

TEST_F(StoreTest, OverwritesInPlaceNeverReachAFileThatClonedTheBlocks) {
  InodeId src = mkfile("src");
  put(src, 0, std::string(B, 'a'));  // every version of the block is one byte repeated
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    for (char c = 'b'; !stop; c = c == 'y' ? 'b' : c + 1) {
      std::string d(B, c);
      (void)fs_->write(src, 0, std::span(reinterpret_cast<const uint8_t*>(d.data()), d.size()));
    }
  });
  for (int i = 0; i < 20; i++) {
    InodeId dst = mkfile("dst" + std::to_string(i));
    ASSERT_TRUE(fs_->clone_range(src, 0, dst, 0, B));
    std::string first = get(dst, 0, B);
    EXPECT_EQ(first, std::string(B, first[0])) << "a clone saw a torn block";
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    EXPECT_EQ(get(dst, 0, B), first) << "a write to the source reached clone " << i;
  }
  stop = true;
  writer.join();
}

}  // namespace
}  // namespace pnfsgw::store::test

namespace pnfsgw::store::test {
namespace {

TEST_F(StoreTest, SpaceOpsOnSharedExtentsLeaveTheOtherFileAlone) {
  InodeId a = mkfile("a");
  std::string data = pattern(8 * B, 's');
  put(a, 0, data);
  struct Op {
    const char* name;
    std::function<Status(InodeId)> run;
    std::function<void(std::string&)> model;
  };
  std::vector<Op> ops = {
      {"punch", [&](InodeId f) { return fs_->punch_hole(f, B + 7, 2 * B); },
       [](std::string& m) { m.replace(B + 7, 2 * B, 2 * B, '\0'); }},
      {"zero", [&](InodeId f) { return fs_->zero_range(f, 100, B); },
       [](std::string& m) { m.replace(100, B, B, '\0'); }},
      {"insert", [&](InodeId f) { return fs_->insert_range(f, 2 * B, B); },
       [](std::string& m) { m.insert(2 * B, B, '\0'); }},
      {"collapse", [&](InodeId f) { return fs_->collapse_range(f, B, 2 * B); },
       [](std::string& m) { m.erase(B, 2 * B); }},
      {"truncate", [&](InodeId f) {
         backend::SetAttr sa;
         sa.size = 3 * B + 5;
         return fs_->setattr(f, sa).status();
       },
       [](std::string& m) { m.resize(3 * B + 5); }},
      {"write", [&](InodeId f) { return fs_->write(f, B - 2, std::span(reinterpret_cast<const uint8_t*>("xyzw"), 4)).status(); },
       [](std::string& m) { m.replace(B - 2, 4, "xyzw"); }},
  };
  int n = 0;
  for (const Op& op : ops) {
    InodeId b = mkfile("b" + std::to_string(n++));
    ASSERT_TRUE(fs_->clone_range(a, 0, b, 0, 8 * B)) << op.name;
    ASSERT_TRUE(op.run(b)) << op.name;
    std::string want = data;
    op.model(want);
    EXPECT_EQ(all(b), want) << op.name;
    EXPECT_EQ(all(a), data) << op.name << " changed the source";
    auto problems = fs_->check().value();
    EXPECT_TRUE(problems.empty()) << op.name << ": " << problems[0].what;
  }
}

}  // namespace
}  // namespace pnfsgw::store::test
