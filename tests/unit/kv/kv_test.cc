// KvStore: transactions, durability across reopen, key order, errors, and
// snapshot isolation between threads.
#include "backend/kv/kv.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "tests/support/server_process.h"

namespace pnfsgw::backend::kv {
namespace {

constexpr uint64_t kMap = 16 << 20;

class KvTest : public ::testing::Test {
 protected:
  void SetUp() override { reopen(); }
  void reopen() {
    store_.reset();
    auto s = KvStore::open(dir_.path() + "/kv", kMap, 4);
    ASSERT_TRUE(s.is_ok()) << s.err();
    store_ = std::move(*s);
    auto db = store_->open_db("t");
    ASSERT_TRUE(db.is_ok()) << db.err();
    db_ = *db;
  }
  std::unique_ptr<WriteTxn> write() {
    auto w = store_->begin_write();
    EXPECT_TRUE(w.is_ok()) << w.err();
    return std::move(*w);
  }
  std::unique_ptr<ReadTxn> read() {
    auto r = store_->begin_read();
    EXPECT_TRUE(r.is_ok()) << r.err();
    return std::move(*r);
  }
  void put_commit(std::string_view k, std::string_view v) {
    auto w = write();
    ASSERT_TRUE(w->put(db_, k, v).is_ok());
    ASSERT_TRUE(w->commit().is_ok());
  }

  test::TempDir dir_{"kv-test"};
  std::unique_ptr<KvStore> store_;
  Db db_;
};

TEST_F(KvTest, PutGetDelRoundTrip) {
  put_commit("a", "1");
  EXPECT_EQ(*read()->get(db_, "a"), "1");
  put_commit("a", "2");  // replaces
  EXPECT_EQ(*read()->get(db_, "a"), "2");
  auto w = write();
  EXPECT_EQ(*w->get(db_, "a"), "2");
  ASSERT_TRUE(w->del(db_, "a").is_ok());
  EXPECT_EQ(w->get(db_, "a").err(), ENOENT);  // sees its own delete
  ASSERT_TRUE(w->commit().is_ok());
  EXPECT_EQ(read()->get(db_, "a").err(), ENOENT);
}

TEST_F(KvTest, GetViewSeesWhatGetSeesWithoutACopy) {
  put_commit("k", std::string(300, 'v'));
  auto r = read();
  EXPECT_EQ(*r->get_view(db_, "k"), *r->get(db_, "k"));
  EXPECT_EQ(r->get_view(db_, "absent").err(), ENOENT);
  EXPECT_EQ(r->get_view(db_, "").err(), EINVAL);
  auto w = write();
  ASSERT_TRUE(w->put(db_, "n", "new").is_ok());
  EXPECT_EQ(*w->get_view(db_, "n"), "new");  // a writer sees its own writes
}

TEST_F(KvTest, AbsentKeyIsEnoentAndDelOfAbsentKeepsTxnUsable) {
  EXPECT_EQ(read()->get(db_, "nope").err(), ENOENT);
  auto w = write();
  EXPECT_EQ(w->del(db_, "nope").err(), ENOENT);
  ASSERT_TRUE(w->put(db_, "k", "v").is_ok());
  ASSERT_TRUE(w->commit().is_ok());
  EXPECT_EQ(*read()->get(db_, "k"), "v");
}

TEST_F(KvTest, EmptyOrTooLongKeyIsEinval) {
  auto w = write();
  EXPECT_EQ(w->put(db_, "", "v").err(), EINVAL);
  EXPECT_EQ(w->put(db_, std::string(store_->max_key_size() + 1, 'k'), "v").err(), EINVAL);
  EXPECT_TRUE(w->put(db_, std::string(store_->max_key_size(), 'k'), "v").is_ok());
  EXPECT_TRUE(w->commit().is_ok());
}

TEST_F(KvTest, UncommittedWriteTxnIsRolledBack) {
  put_commit("keep", "old");
  {
    auto w = write();
    ASSERT_TRUE(w->put(db_, "keep", "new").is_ok());
    ASSERT_TRUE(w->put(db_, "extra", "x").is_ok());
  }  // destroyed without commit
  auto r = read();
  EXPECT_EQ(*r->get(db_, "keep"), "old");
  EXPECT_EQ(r->get(db_, "extra").err(), ENOENT);
}

TEST_F(KvTest, CommittedDataSurvivesCloseAndReopen) {
  put_commit("durable", "yes");
  {
    auto w = write();
    ASSERT_TRUE(w->put(db_, "lost", "no").is_ok());
  }
  reopen();
  auto r = read();
  EXPECT_EQ(*r->get(db_, "durable"), "yes");
  EXPECT_EQ(r->get(db_, "lost").err(), ENOENT);
}

TEST_F(KvTest, SameDirectoryCannotBeOpenedTwice) {
  auto again = KvStore::open(dir_.path() + "/kv", kMap, 4);
  EXPECT_EQ(again.err(), EBUSY);
}

TEST_F(KvTest, NamedDbsAreSeparate) {
  auto other = store_->open_db("other");
  ASSERT_TRUE(other.is_ok());
  put_commit("k", "in t");
  EXPECT_EQ(read()->get(*other, "k").err(), ENOENT);
}

TEST_F(KvTest, BigEndianKeysIterateInNumericOrderOverARange) {
  // As decimal strings "10" < "9"; as big-endian u64 9 < 10 < 256 < 2^40.
  const std::vector<uint64_t> lblks = {256, 9, uint64_t{1} << 40, 10, 0, 255};
  auto w = write();
  for (uint64_t ino : {7, 8}) {
    for (uint64_t l : lblks) {
      ASSERT_TRUE(w->put(db_, KeyBuilder().u64(ino).u64(l).str(), std::to_string(l)).is_ok());
    }
  }
  ASSERT_TRUE(w->commit().is_ok());

  // Every extent of ino 7 with lblk in [9, 2^40): begin inclusive, end exclusive.
  std::vector<uint64_t> seen;
  auto r = read();
  Status st = r->for_each(db_, KeyBuilder().u64(7).u64(9).str(),
                          KeyBuilder().u64(7).u64(uint64_t{1} << 40).str(),
                          [&](std::string_view k, std::string_view v) {
                            KeyReader kr(k);
                            uint64_t ino = 0, l = 0;
                            EXPECT_TRUE(kr.u64(&ino) && kr.u64(&l));
                            EXPECT_EQ(ino, 7u);
                            EXPECT_EQ(v, std::to_string(l));
                            seen.push_back(l);
                            return true;
                          });
  ASSERT_TRUE(st.is_ok());
  EXPECT_EQ(seen, (std::vector<uint64_t>{9, 10, 255, 256}));

  // Whole ino 8 (end = next ino), stopping early after two records.
  seen.clear();
  st = r->for_each(db_, KeyBuilder().u64(8).str(), KeyBuilder().u64(9).str(),
                   [&](std::string_view k, std::string_view) {
                     KeyReader kr(k);
                     uint64_t ino = 0, l = 0;
                     kr.u64(&ino);
                     kr.u64(&l);
                     seen.push_back(l);
                     return seen.size() < 2;
                   });
  ASSERT_TRUE(st.is_ok());
  EXPECT_EQ(seen, (std::vector<uint64_t>{0, 9}));

  // Empty bounds: the whole db, 12 records.
  int n = 0;
  ASSERT_TRUE(r->for_each(db_, "", "", [&](auto, auto) { return ++n, true; }).is_ok());
  EXPECT_EQ(n, 12);
}

TEST_F(KvTest, CursorSeeksStepsAndFindsExactKeys) {
  {
    auto w = write();
    for (std::string k : {"b", "d", "f", "h"}) ASSERT_TRUE(w->put(db_, k, "v" + k).is_ok());
    ASSERT_TRUE(w->commit().is_ok());
  }
  auto r = read();
  auto c = r->cursor(db_);
  ASSERT_TRUE(c.is_ok());
  Cursor& cur = **c;
  ASSERT_TRUE(cur.seek("c").is_ok());  // first key >= "c"
  EXPECT_EQ(cur.key(), "d");
  EXPECT_EQ(cur.value(), "vd");
  ASSERT_TRUE(cur.next().is_ok());
  EXPECT_EQ(cur.key(), "f");
  auto h = cur.find("h");
  ASSERT_TRUE(h.is_ok());
  EXPECT_EQ(*h, "vh");
  EXPECT_EQ(cur.key(), "h");
  EXPECT_EQ(cur.next().err(), ENOENT);  // past the last
  EXPECT_EQ(cur.find("e").err(), ENOENT);  // between keys: not found
  auto b = cur.find("b");  // backwards, after a miss
  ASSERT_TRUE(b.is_ok());
  EXPECT_EQ(*b, "vb");
  EXPECT_EQ(cur.seek("i").err(), ENOENT);
  ASSERT_TRUE(cur.seek("").is_ok());  // empty: the first record
  EXPECT_EQ(cur.key(), "b");
}

TEST(KeyCodec, BuilderWritesBigEndianAndReaderReadsItBack) {
  std::string k = KeyBuilder().u32(0x01020304).u64(0x05060708090a0b0c).bytes("xy").str();
  EXPECT_EQ(k, std::string("\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c"
                           "xy"));
  KeyReader r(k);
  uint32_t a = 0;
  uint64_t b = 0;
  ASSERT_TRUE(r.u32(&a));
  ASSERT_TRUE(r.u64(&b));
  EXPECT_EQ(a, 0x01020304u);
  EXPECT_EQ(b, 0x05060708090a0b0cu);
  EXPECT_EQ(r.rest(), "xy");
  EXPECT_FALSE(r.u32(&a));  // only 2 bytes left
  EXPECT_EQ(r.rest(), "xy");
}

TEST(KvMapFull, FullMapIsEnospcAndPoisonsOnlyThatTxn) {
  test::TempDir dir("kv-full");
  auto s = KvStore::open(dir.path() + "/kv", 256 << 10, 2);  // 64 pages
  ASSERT_TRUE(s.is_ok()) << s.err();
  auto& store = *s;
  Db db = *store->open_db("t");
  auto w = store->begin_write().value();
  const std::string value(3000, 'v');
  Status st;
  for (uint64_t i = 0; i < 1000 && st.is_ok(); ++i)
    st = w->put(db, KeyBuilder().u64(i).str(), value);
  if (st.is_ok()) st = w->commit();
  ASSERT_EQ(st.err(), ENOSPC);
  EXPECT_EQ(w->put(db, "after", "x").err(), ENOSPC);  // poisoned
  EXPECT_EQ(w->commit().err(), ENOSPC);
  w.reset();

  auto w2 = store->begin_write().value();  // the store itself is fine
  ASSERT_TRUE(w2->put(db, "small", "ok").is_ok());
  ASSERT_TRUE(w2->commit().is_ok());
  EXPECT_EQ(*(*store->begin_read())->get(db, "small"), "ok");
}

TEST_F(KvTest, ForEachAfterFloorGivesTheRecordBeforeTheRangeThenTheRange) {
  auto scan = [&](std::string_view begin, std::string_view end, bool stop_before = false) {
    std::string got;
    auto r = read();
    Status st = r->for_each_after_floor(
        db_, begin, end,
        [&](std::string_view k, std::string_view v) {
          got += "<" + std::string(k) + "=" + std::string(v);
          return !stop_before;
        },
        [&](std::string_view k, std::string_view) {
          got += " " + std::string(k);
          return true;
        });
    EXPECT_TRUE(st.is_ok());
    return got;
  };
  EXPECT_EQ(scan("c", ""), "");  // an empty db
  put_commit("b", "1");
  put_commit("d", "2");
  put_commit("f", "3");
  EXPECT_EQ(scan("c", "f"), "<b=1 d");
  EXPECT_EQ(scan("d", "e"), "<b=1 d");  // before: strictly less than begin
  EXPECT_EQ(scan("b", ""), " b d f");  // nothing before the first key
  EXPECT_EQ(scan("a", "c"), " b");
  EXPECT_EQ(scan("g", ""), "<f=3");  // past the last key
  EXPECT_EQ(scan("f", ""), "<d=2 f");
  EXPECT_EQ(scan("c", "", true), "<b=1");  // before() may stop the scan
  EXPECT_EQ(read()->for_each_after_floor(db_, "", "", [](auto, auto) { return true; },
                                         [](auto, auto) { return true; }).err(),
            EINVAL);
}

TEST_F(KvTest, ReaderKeepsItsSnapshotWhileAWriterCommits) {
  put_commit("k", "before");
  auto r = read();
  std::thread writer([&] { put_commit("k", "after"); });
  writer.join();
  EXPECT_EQ(*r->get(db_, "k"), "before");
  // MDB_NOTLS: the snapshot can be used from another thread.
  std::thread other([&] { EXPECT_EQ(*r->get(db_, "k"), "before"); });
  other.join();
  r.reset();
  EXPECT_EQ(*read()->get(db_, "k"), "after");
}

TEST_F(KvTest, AReadTxnBegunAfterACommitSeesItThoughTransactionsAreReused) {
  // Finished read transactions are kept and renewed: each new one must still
  // start from the latest commit, never from its previous snapshot.
  for (int i = 0; i < 50; i++) {
    put_commit("k", std::to_string(i));
    EXPECT_EQ(*read()->get(db_, "k"), std::to_string(i));
  }
}

TEST_F(KvTest, ManyReadersAtOnceAndAgainAfterTheyFinish) {
  // More live readers than the store keeps idle; then as many again, which
  // reuse the kept ones and begin new ones for the rest.
  put_commit("k", "v");
  for (int round = 0; round < 3; round++) {
    std::vector<std::unique_ptr<ReadTxn>> live;
    for (int i = 0; i < 60; i++) live.push_back(read());
    for (auto& r : live) EXPECT_EQ(*r->get(db_, "k"), "v");
    put_commit("k", "v");
  }
}

TEST_F(KvTest, ConcurrentReadersNeverSeeAHalfCommittedTxn) {
  put_commit("a", "0");
  put_commit("b", "0");
  std::atomic<bool> done{false};
  std::atomic<int> snapshots{0};
  auto reader = [&] {
    while (!done.load()) {
      auto r = store_->begin_read().value();
      auto a = r->get(db_, "a");
      auto b = r->get(db_, "b");
      ASSERT_TRUE(a.is_ok() && b.is_ok());
      ASSERT_EQ(*a, *b);  // one txn writes both
      snapshots++;
    }
  };
  std::thread r1(reader), r2(reader);
  for (int i = 1; i <= 200; ++i) {
    auto w = write();
    ASSERT_TRUE(w->put(db_, "a", std::to_string(i)).is_ok());
    ASSERT_TRUE(w->put(db_, "b", std::to_string(i)).is_ok());
    ASSERT_TRUE(w->commit().is_ok());
  }
  done = true;
  r1.join();
  r2.join();
  EXPECT_GT(snapshots.load(), 0);
  EXPECT_EQ(*read()->get(db_, "a"), "200");
}

}  // namespace
}  // namespace pnfsgw::backend::kv
