// File operations against the real server, through the client library.
#include <random>
#include <set>

#include "tests/integration/client/client_fixture.h"

namespace pnfsgw::client::test {
namespace {
using namespace nfs4;

using FileOpsTest = ClientTest;

uint64_t fnv1a(std::span<const uint8_t> data, uint64_t h = 1469598103934665603ull) {
  for (uint8_t b : data) h = (h ^ b) * 1099511628211ull;
  return h;
}

std::span<const uint8_t> bytes_of(const std::string& s) {
  return std::span(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

TEST_F(FileOpsTest, CreateWriteReadBackAndCloseSeveralMiB) {
  constexpr size_t kSize = 4u << 20;
  constexpr uint32_t kChunk = 256u << 10;
  std::vector<uint8_t> data(kSize);
  std::mt19937_64 rng(7);
  for (size_t i = 0; i < kSize; i += 8) {
    uint64_t v = rng();
    std::memcpy(&data[i], &v, 8);
  }

  OpenOptions o;
  o.create = true;
  o.createmode = GUARDED4;
  o.attrs.mode = 0644;
  auto f = client_->open(root_, "big", o);
  ASSERT_OK(f);
  Verifier verf{};
  for (size_t off = 0; off < kSize; off += kChunk) {
    auto w =
        client_->write(f->fh, f->stateid, off, std::span(data).subspan(off, kChunk), UNSTABLE4);
    ASSERT_OK(w);
    ASSERT_EQ(w->count, kChunk);
    if (off == 0) verf = w->verf;
    EXPECT_EQ(w->verf, verf) << "write verifier changed mid-stream";
  }
  auto c = client_->commit(f->fh);
  ASSERT_OK(c);
  EXPECT_EQ(*c, verf) << "COMMIT verifier differs from WRITE's";

  uint64_t want = fnv1a(data), got = 1469598103934665603ull;
  size_t total = 0;
  bool eof = false;
  while (!eof) {
    auto r = client_->read(f->fh, f->stateid, total, kChunk);
    ASSERT_OK(r);
    got = fnv1a(r->data, got);
    total += r->data.size();
    eof = r->eof;
    ASSERT_TRUE(!r->data.empty() || eof) << "empty read before EOF at " << total;
  }
  EXPECT_EQ(total, kSize);
  EXPECT_EQ(got, want);
  auto attrs = client_->getattr(f->fh);
  ASSERT_OK(attrs);
  EXPECT_EQ(attrs->size, kSize);
  EXPECT_EQ(attrs->type, NF4REG);
  ASSERT_OK(client_->close(f->fh, f->stateid));

  // GUARDED4 on an existing name fails; the file is untouched.
  EXPECT_NFS_ERR(client_->open(root_, "big", o), NFS4ERR_EXIST);
}

TEST_F(FileOpsTest, Exclusive41CreateIsIdempotentForTheSameVerifier) {
  OpenOptions o;
  o.create = true;
  o.createmode = EXCLUSIVE4_1;
  o.verf = Verifier{1, 2, 3, 4, 5, 6, 7, 8};
  auto a = client_->open(root_, "excl", o);
  ASSERT_OK(a);
  auto b = client_->open(root_, "excl", o);  // a retransmission: same file
  ASSERT_OK(b);
  EXPECT_EQ(a->fh, b->fh);
  ASSERT_OK(client_->close(b->fh, b->stateid));
  o.verf[0] = 9;
  EXPECT_NFS_ERR(client_->open(root_, "excl", o), NFS4ERR_EXIST);
}

TEST_F(FileOpsTest, MkdirTreeLookupPathAndReaddirOf5000Entries) {
  auto a = client_->mkdir(root_, "tree");
  ASSERT_OK(a);
  auto b = client_->mkdir(*a, "sub");
  ASSERT_OK(b);
  auto c = client_->mkdir(*b, "leaf", 0700);
  ASSERT_OK(c);
  auto found = client_->lookup_path("/tree/sub/leaf");
  ASSERT_OK(found);
  EXPECT_EQ(*found, *c);
  auto leaf_attrs = client_->getattr(*c);
  ASSERT_OK(leaf_attrs);
  EXPECT_EQ(leaf_attrs->type, NF4DIR);
  EXPECT_EQ(leaf_attrs->mode.value_or(0) & 07777, 0700u);
  EXPECT_NFS_ERR(client_->lookup_path("/tree/nope"), NFS4ERR_NOENT);

  auto big = client_->mkdir(root_, "many");
  ASSERT_OK(big);
  constexpr int kEntries = 5000;
  // Batch PUTFH+CREATE pairs up to the session's op limit.
  uint32_t max_ops = std::min<uint32_t>(client_->fore_attrs().maxoperations, 64);
  int per_compound = std::max<int>(1, static_cast<int>((max_ops - 1) / 2));
  SetAttrs mode;
  mode.mode = 0755;
  for (int i = 0; i < kEntries;) {
    CompoundBuilder cb;
    for (int k = 0; k < per_compound && i < kEntries; k++, i++) {
      std::string name = "entry-" + std::to_string(i);
      cb.putfh(*big);
      if (i % 2) {
        cb.create_dir(name, mode);
      } else {
        cb.create_symlink(name, "target-" + std::to_string(i), mode);
      }
    }
    auto r = client_->compound(cb);
    ASSERT_OK(r);
    ASSERT_EQ(r->status(), NFS4_OK)
        << "CREATE batch before entry " << i << ": " << err_name(r->status());
  }

  auto entries = client_->readdir(*big, Bitmap4{FATTR4_FILEID, FATTR4_TYPE});
  ASSERT_OK(entries);
  std::set<std::string> names;
  std::set<uint64_t> cookies, fileids;
  for (const auto& e : *entries) {
    EXPECT_TRUE(names.insert(e.name).second) << "duplicate name " << e.name;
    EXPECT_TRUE(cookies.insert(e.cookie).second) << "duplicate cookie " << e.cookie;
    ASSERT_TRUE(e.attrs.fileid.has_value()) << e.name;
    fileids.insert(*e.attrs.fileid);
    EXPECT_EQ(e.attrs.type, std::stoi(e.name.substr(6)) % 2 ? NF4DIR : NF4LNK) << e.name;
  }
  EXPECT_EQ(entries->size(), static_cast<size_t>(kEntries));
  EXPECT_EQ(names.size(), static_cast<size_t>(kEntries));
  EXPECT_EQ(fileids.size(), static_cast<size_t>(kEntries));
  EXPECT_EQ(names.count("."), 0u);
  EXPECT_EQ(names.count(".."), 0u);
}

TEST_F(FileOpsTest, RenameOverAnExistingFileReplacesIt) {
  Fh a = make_file(root_, "a", "content of a");
  make_file(root_, "b", "content of b");
  auto a_attrs = client_->getattr(a);
  ASSERT_OK(a_attrs);
  ASSERT_OK(client_->rename(root_, "a", root_, "b"));
  EXPECT_NFS_ERR(client_->lookup(root_, "a"), NFS4ERR_NOENT);
  auto b = client_->lookup(root_, "b");
  ASSERT_OK(b);
  EXPECT_EQ(read_all(*b), "content of a");
  auto b_attrs = client_->getattr(*b);
  ASSERT_OK(b_attrs);
  EXPECT_EQ(b_attrs->fileid, a_attrs->fileid);

  // Across directories too.
  auto d = client_->mkdir(root_, "dir");
  ASSERT_OK(d);
  ASSERT_OK(client_->rename(root_, "b", *d, "moved"));
  auto moved = client_->lookup(*d, "moved");
  ASSERT_OK(moved);
  EXPECT_EQ(read_all(*moved), "content of a");
}

TEST_F(FileOpsTest, HardLinkSharesTheFileAndCountsLinks) {
  Fh f = make_file(root_, "orig", "linked data");
  ASSERT_OK(client_->link(f, root_, "alias"));
  auto alias = client_->lookup(root_, "alias");
  ASSERT_OK(alias);
  auto attrs = client_->getattr(*alias);
  ASSERT_OK(attrs);
  EXPECT_EQ(attrs->numlinks, 2u);
  auto orig_attrs = client_->getattr(f);
  ASSERT_OK(orig_attrs);
  EXPECT_EQ(attrs->fileid, orig_attrs->fileid);
  ASSERT_OK(client_->remove(root_, "orig"));
  EXPECT_EQ(read_all(*alias), "linked data");
  attrs = client_->getattr(*alias);
  ASSERT_OK(attrs);
  EXPECT_EQ(attrs->numlinks, 1u);
  EXPECT_NFS_ERR(client_->link(*alias, root_, "alias"), NFS4ERR_EXIST);
}

TEST_F(FileOpsTest, SymlinkAndReadlink) {
  auto s = client_->symlink(root_, "sl", "some/target/path");
  ASSERT_OK(s);
  auto target = client_->readlink(*s);
  ASSERT_OK(target);
  EXPECT_EQ(*target, "some/target/path");
  auto attrs = client_->getattr(*s);
  ASSERT_OK(attrs);
  EXPECT_EQ(attrs->type, NF4LNK);
  EXPECT_EQ(attrs->size, 16u);
  Fh f = make_file(root_, "regular", "x");
  EXPECT_NFS_ERR(client_->readlink(f), NFS4ERR_INVAL);
}

TEST_F(FileOpsTest, SetattrSizeAndMode) {
  std::string content(10000, 'z');
  Fh f = make_file(root_, "sized", content);
  SetAttrs shrink;
  shrink.size = 100;
  ASSERT_OK(client_->setattr(f, shrink));
  auto attrs = client_->getattr(f);
  ASSERT_OK(attrs);
  EXPECT_EQ(attrs->size, 100u);
  EXPECT_EQ(read_all(f), std::string(100, 'z'));

  SetAttrs mode;
  mode.mode = 0600;
  ASSERT_OK(client_->setattr(f, mode));
  attrs = client_->getattr(f);
  ASSERT_OK(attrs);
  EXPECT_EQ(attrs->mode.value_or(0) & 07777, 0600u);

  SetAttrs grow;
  grow.size = 1 << 20;
  ASSERT_OK(client_->setattr(f, grow));
  auto r = client_->read(f, Stateid::anonymous(), 500000, 100);
  ASSERT_OK(r);
  EXPECT_EQ(r->data, std::vector<uint8_t>(100, 0));
}

TEST_F(FileOpsTest, RemoveFileAndNonEmptyDirectory) {
  make_file(root_, "gone", "bye");
  ASSERT_OK(client_->remove(root_, "gone"));
  EXPECT_NFS_ERR(client_->lookup(root_, "gone"), NFS4ERR_NOENT);
  EXPECT_NFS_ERR(client_->remove(root_, "gone"), NFS4ERR_NOENT);
  auto d = client_->mkdir(root_, "full");
  ASSERT_OK(d);
  make_file(*d, "inside", "");
  EXPECT_NFS_ERR(client_->remove(root_, "full"), NFS4ERR_NOTEMPTY);
}

TEST_F(FileOpsTest, LockConflictsBetweenTwoLockOwners) {
  OpenOptions o;
  o.create = true;
  o.attrs.mode = 0644;
  auto f1 = client_->open(root_, "locked", o);
  ASSERT_OK(f1);
  OpenOptions o2;
  o2.owner = "second-open-owner";
  auto f2 = client_->open(root_, "locked", o2);
  ASSERT_OK(f2);

  LockOwnerState lo1{"lock-owner-1", f1->stateid, std::nullopt};
  LockOwnerState lo2{"lock-owner-2", f2->stateid, std::nullopt};
  ASSERT_OK(client_->lock(f1->fh, lo1, WRITE_LT, 0, 100));
  ASSERT_TRUE(lo1.lock_stateid);

  LockDenied denied;
  EXPECT_NFS_ERR(client_->lockt(f1->fh, lo2.owner, WRITE_LT, 50, 10, &denied), NFS4ERR_DENIED);
  EXPECT_EQ(denied.offset, 0u);
  EXPECT_EQ(denied.length, 100u);
  EXPECT_EQ(denied.locktype, WRITE_LT);
  EXPECT_EQ(std::string(denied.owner.begin(), denied.owner.end()), "lock-owner-1");
  EXPECT_NFS_ERR(client_->lock(f1->fh, lo2, READ_LT, 99, 1), NFS4ERR_DENIED);
  EXPECT_FALSE(lo2.lock_stateid);
  // No conflict outside the range or with the owner itself.
  EXPECT_OK(client_->lockt(f1->fh, lo2.owner, WRITE_LT, 100, 50));
  EXPECT_OK(client_->lockt(f1->fh, lo1.owner, WRITE_LT, 0, 100));

  auto codes = client_->test_stateid(std::vector<Stateid>{*lo1.lock_stateid, f1->stateid});
  ASSERT_OK(codes);
  EXPECT_EQ((*codes)[0], NFS4_OK);
  EXPECT_EQ((*codes)[1], NFS4_OK);

  ASSERT_OK(client_->locku(f1->fh, lo1, WRITE_LT, 0, 100));
  EXPECT_OK(client_->lockt(f1->fh, lo2.owner, WRITE_LT, 50, 10));
  ASSERT_OK(client_->lock(f2->fh, lo2, WRITE_LT, 50, 10));
  // A second lock by the same owner goes with its lock stateid.
  ASSERT_OK(client_->lock(f2->fh, lo2, WRITE_LT, 200, 10));
  EXPECT_NFS_ERR(client_->lock(f1->fh, lo1, READ_LT, 55, 1), NFS4ERR_DENIED);
  ASSERT_OK(client_->locku(f2->fh, lo2, WRITE_LT, 0, ~0ull));

  // lo1 holds no locks now: its lock stateid can be freed.
  EXPECT_OK(client_->free_stateid(*lo1.lock_stateid));
  auto after = client_->test_stateid(std::vector<Stateid>{*lo1.lock_stateid});
  ASSERT_OK(after);
  EXPECT_NE((*after)[0], static_cast<uint32_t>(NFS4_OK));
  ASSERT_OK(client_->close(f1->fh, f1->stateid));
  ASSERT_OK(client_->close(f2->fh, f2->stateid));
}

TEST_F(FileOpsTest, OpenDowngradeToReadForbidsWrites) {
  OpenOptions o;
  o.create = true;
  auto f = client_->open(root_, "dg", o);
  ASSERT_OK(f);
  auto sid =
      client_->open_downgrade(f->fh, f->stateid, OPEN4_SHARE_ACCESS_READ, OPEN4_SHARE_DENY_NONE);
  ASSERT_OK(sid);
  EXPECT_GT(sid->seqid, f->stateid.seqid);
  std::string x = "x";
  EXPECT_NFS_ERR(client_->write(f->fh, *sid, 0, bytes_of(x)), NFS4ERR_OPENMODE);
  ASSERT_OK(client_->close(f->fh, *sid));
  // The old (superseded) stateid is now unknown.
  EXPECT_NE(client_->close(f->fh, *sid).err(), 0);
}

TEST_F(FileOpsTest, AccessReportsWhatTheCallerMayDo) {
  Fh f = make_file(root_, "acc", "", 0644);
  auto a = client_->access(f, ACCESS4_READ | ACCESS4_MODIFY | ACCESS4_EXECUTE);
  ASSERT_OK(a);
  EXPECT_EQ(a->supported & ACCESS4_READ, ACCESS4_READ);
  EXPECT_EQ(a->access & ACCESS4_READ, ACCESS4_READ);
}

}  // namespace
}  // namespace pnfsgw::client::test
