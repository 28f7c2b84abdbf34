// `pnfsgw fsck DIR`: exit 0 and "is clean" for a store the server made (also
// while it runs: fsck reads one LMDB snapshot), exit 1 with a line naming the
// broken invariant when the metadata is damaged behind its back (an rmap
// record gone, a wrong reference count, free or quarantined space over mapped
// blocks, a directory entry gone), exit 2 when DIR holds no store.
#include <memory>
#include <optional>

#include "backend/kv/kv.h"
#include "backend/store/store_schema.h"
#include "tests/integration/client/client_fixture.h"
#include "tests/support/host_tools.h"

namespace pnfsgw::client::test {
namespace {

using backend::kv::KvStore;
using backend::kv::WriteTxn;
using pnfsgw::test::CommandResult;

class FsckTest : public ClientTest {
 protected:
  std::vector<std::string> server_args() const override {
    return {"--grace", "0", "--device-size", "64M"};
  }
  void SetUp() override {
    ClientTest::SetUp();
    if (HasFatalFailure()) return;
    make_file(root_, "f", pnfsgw::test::random_bytes(100000, 5));  // 25 blocks
  }
  void stop_server() {
    client_->shutdown();
    client_.reset();
    ASSERT_EQ(server_.stop(), 0) << server_.log_tail();
  }
  CommandResult fsck(const std::string& dir) {
    return pnfsgw::test::run_command({PNFSGW_BINARY, "fsck", dir});
  }
  // Runs fn in one write transaction on DIR/meta (the server is stopped).
  void damage(const std::function<void(WriteTxn&, const std::map<std::string, backend::kv::Db>&)>& fn) {
    auto kv = KvStore::open(data_dir_ + "/meta", 16ull << 30, 16);
    ASSERT_TRUE(kv) << strerror(kv.err());
    std::map<std::string, backend::kv::Db> dbs;
    for (const char* name : {"inode", "dirent", "dircookie", "extent", "rmap", "refcount", "free", "quarantine"}) {
      auto db = kv.value()->open_db(name);
      ASSERT_TRUE(db);
      dbs[name] = db.value();
    }
    auto w = kv.value()->begin_write();
    ASSERT_TRUE(w);
    fn(*w.value(), dbs);
    ASSERT_TRUE(w.value()->commit());
  }
  // The first extent record of the store (file "f" has one or more).
  static std::optional<store::Extent> first_extent(WriteTxn& t, backend::kv::Db extent, uint64_t* ino) {
    std::optional<store::Extent> out;
    (void)t.for_each(extent, "", "", [&](std::string_view k, std::string_view v) {
      out = store::decode_extent(k, v, ino);
      return false;
    });
    return out;
  }
  // Writes value under the block key of the first extent's block + off in
  // db (a record that contradicts the mapping); returns that block as fsck
  // names a one-block range ("P-P").
  std::string put_at_first_extent(const char* db_name, uint64_t off, const std::string& value) {
    uint64_t pblk = 0;
    damage([&](WriteTxn& t, const auto& db) {
      uint64_t ino = 0;
      auto e = first_extent(t, db.at("extent"), &ino);
      ASSERT_TRUE(e);
      pblk = e->pblk + off;
      ASSERT_TRUE(t.put(db.at(db_name), store::block_key(pblk), value));
    });
    return std::to_string(pblk) + "-" + std::to_string(pblk);
  }
  void expect_problem(const std::string& what) {
    CommandResult r = fsck(data_dir_);
    EXPECT_EQ(r.status, 1) << r.output << r.errors;
    EXPECT_NE(r.output.find(what), std::string::npos) << "want \"" << what << "\" in:\n" << r.output;
    EXPECT_NE(r.output.find("problem(s) in " + data_dir_), std::string::npos) << r.output;
  }
};

TEST_F(FsckTest, StoreMadeByTheServerIsClean) {
  stop_server();
  CommandResult r = fsck(data_dir_);
  EXPECT_EQ(r.status, 0) << r.output << r.errors;
  EXPECT_NE(r.output.find("pnfsgw fsck: " + data_dir_ + " is clean"), std::string::npos) << r.output;
}

TEST_F(FsckTest, RunsCleanOnASnapshotWhileTheServerServes) {
  make_file(root_, "g", pnfsgw::test::random_bytes(50000, 6));
  CommandResult r = fsck(data_dir_);
  EXPECT_EQ(r.status, 0) << r.output << r.errors;
  EXPECT_NE(r.output.find("is clean"), std::string::npos) << r.output;
  make_file(root_, "h", "after fsck");  // the server is unaffected
}

TEST_F(FsckTest, MissingRmapRecordIsNamed) {
  stop_server();
  damage([](WriteTxn& t, const auto& db) {
    uint64_t ino = 0;
    auto e = first_extent(t, db.at("extent"), &ino);
    ASSERT_TRUE(e);
    ASSERT_TRUE(t.del(db.at("rmap"), store::rmap_key(e->pblk, ino, e->lblk)));
  });
  expect_problem("rmap: no record for extent of");
}

TEST_F(FsckTest, WrongReferenceCountIsNamed) {
  stop_server();
  // Says the first block is mapped twice; it is mapped once.
  std::string b = put_at_first_extent("refcount", 0, store::encode_refcount(1, 2));
  expect_problem("refcount: blocks " + b + " are mapped 1 times, record says 2");
}

TEST_F(FsckTest, FreeRecordOverMappedBlocksIsNamed) {
  stop_server();
  std::string b = put_at_first_extent("free", 0, store::encode_u64(1));
  expect_problem("space: blocks " + b + " are free and also mapped");
}

TEST_F(FsckTest, QuarantineOverMappedBlocksIsNamed) {
  stop_server();
  std::string b = put_at_first_extent("quarantine", 1, store::encode_u64(1));
  expect_problem("space: blocks " + b + " are mapped and also in quarantine");
}

TEST_F(FsckTest, DroppedDirectoryEntryLeavesAnUnreachableInode) {
  stop_server();
  uint64_t ino = 0;
  damage([&](WriteTxn& t, const auto& db) {
    ASSERT_TRUE(first_extent(t, db.at("extent"), &ino));
    ASSERT_TRUE(t.del(db.at("dirent"), backend::kv::KeyBuilder().u64(store::kRootIno).bytes("f").str()));
  });
  expect_problem("inode " + std::to_string(ino) + ": nlink 1 but 0 entries name it");
  expect_problem("inode " + std::to_string(ino) + ": unreachable (no entry names it)");
  expect_problem("has no directory entry");  // its readdir record is left alone
}

TEST_F(FsckTest, DirectoryWithoutAStoreExitsTwo) {
  stop_server();
  std::string empty = tmp_.path() + "/empty";
  ASSERT_EQ(mkdir(empty.c_str(), 0755), 0);
  CommandResult r = fsck(empty);
  EXPECT_EQ(r.status, 2) << r.output << r.errors;
  EXPECT_NE(r.errors.find("pnfsgw fsck: " + empty + " holds no store"), std::string::npos) << r.errors;
  r = fsck(tmp_.path() + "/does-not-exist");
  EXPECT_EQ(r.status, 2) << r.output << r.errors;
  EXPECT_NE(r.errors.find("holds no store"), std::string::npos) << r.errors;
}

}  // namespace
}  // namespace pnfsgw::client::test
