// StoreFs::readdir_plus: the listing READDIRPLUS and NFSv4 READDIR read,
// with each entry's attributes and handle from one snapshot. It must list
// what readdir() lists, with what getattr() and encode_handle() say.
#include <set>
#include <string>
#include <vector>

#include "tests/unit/store/store_fixture.h"

namespace pnfsgw::store::test {
namespace {

struct Listed {
  std::string name;
  InodeId ino = 0;
  backend::FileType type{};
  uint64_t cookie = 0;
  std::optional<backend::Attr> attr;
  std::string handle;
};

class StoreReaddirTest : public StoreTest {
 protected:
  // Up to max entries after cookie (all when max is 0).
  std::vector<Listed> list(InodeId dir, uint64_t cookie, bool want_attrs, size_t max, bool* eof) {
    std::vector<Listed> out;
    Status st = fs_->readdir_plus(
        dir, cookie, want_attrs,
        [&](const backend::DirEntryPlus& e) {
          if (max != 0 && out.size() == max) return false;
          Listed l{std::string(e.name), e.ino, e.type, e.cookie, std::nullopt, {}};
          if (e.attr) l.attr = *e.attr;
          l.handle.assign(reinterpret_cast<const char*>(e.handle.data()), e.handle.size());
          out.push_back(std::move(l));
          return true;
        },
        eof);
    EXPECT_TRUE(st) << strerror(st.err());
    return out;
  }
  // What readdir() and getattr() say, for comparison.
  void expect_matches_readdir(InodeId dir, const std::vector<Listed>& got) {
    std::vector<backend::DirEntry> want;
    for (uint64_t cookie = 0;;) {
      auto p = fs_->readdir(dir, cookie, 7);
      ASSERT_TRUE(p);
      for (auto& e : p.value().entries) want.push_back(e), cookie = e.cookie;
      if (p.value().eof) break;
    }
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < want.size(); i++) {
      EXPECT_EQ(got[i].name, want[i].name);
      EXPECT_EQ(got[i].ino, want[i].ino);
      EXPECT_EQ(got[i].type, want[i].type);
      EXPECT_EQ(got[i].cookie, want[i].cookie);
      ASSERT_TRUE(got[i].attr) << got[i].name;
      auto a = fs_->getattr(want[i].ino);
      ASSERT_TRUE(a);
      EXPECT_EQ(got[i].attr->ino, a->ino);
      EXPECT_EQ(got[i].attr->type, a->type);
      EXPECT_EQ(got[i].attr->mode, a->mode);
      EXPECT_EQ(got[i].attr->nlink, a->nlink);
      EXPECT_EQ(got[i].attr->size, a->size);
      EXPECT_EQ(got[i].attr->space_used, a->space_used);
      EXPECT_EQ(got[i].attr->mtime, a->mtime);
      EXPECT_EQ(got[i].attr->ctime, a->ctime);
      EXPECT_EQ(got[i].attr->change, a->change);
      EXPECT_EQ(got[i].handle, fs_->encode_handle(want[i].ino).value());
    }
  }
};

TEST_F(StoreReaddirTest, ListsWhatReaddirListsWithGetattrsAttributesAndHandles) {
  for (int i = 0; i < 40; i++) mkfile("f" + std::to_string(i));
  ASSERT_TRUE(fs_->mkdir(kRootIno, "sub", 0755, {}));
  ASSERT_TRUE(fs_->symlink(kRootIno, "link", "f1", {}));
  put(mkfile("data"), 0, pattern(10000, 'a'));
  bool eof = false;
  auto got = list(kRootIno, 0, true, 0, &eof);
  EXPECT_TRUE(eof);
  expect_matches_readdir(kRootIno, got);
}

// Inode numbers out of cookie order (a rename gives an old inode a new
// cookie; a hard link lists one inode twice; removals leave gaps): the
// inode cursor's step to the next record must fall back to a search.
TEST_F(StoreReaddirTest, AttributesAreRightWhenInodesAreOutOfCookieOrder) {
  std::vector<InodeId> inos;
  for (int i = 0; i < 30; i++) inos.push_back(mkfile("f" + std::to_string(i)));
  ASSERT_TRUE(fs_->rename(kRootIno, "f3", kRootIno, "moved3"));
  ASSERT_TRUE(fs_->link(inos[20], kRootIno, "twin20"));
  ASSERT_TRUE(fs_->link(inos[1], kRootIno, "twin1"));
  for (int i : {5, 6, 7, 25}) ASSERT_TRUE(fs_->unlink(kRootIno, "f" + std::to_string(i)));
  ASSERT_TRUE(fs_->mkdir(kRootIno, "d", 0755, {}));
  InodeId other = fs_->lookup(kRootIno, "d").value().ino;
  for (int i = 0; i < 5; i++) mkfile("g" + std::to_string(i), other);  // interleaved inodes
  mkfile("last");
  bool eof = false;
  auto got = list(kRootIno, 0, true, 0, &eof);
  EXPECT_TRUE(eof);
  expect_matches_readdir(kRootIno, got);
}

// A listing resumed from the last cookie it returned, with entries removed
// and added between the calls, repeats nothing and misses nothing that was
// there throughout (RFC 1813 3.3.16 cookies).
TEST_F(StoreReaddirTest, ResumingFromACookieNeitherRepeatsNorSkips) {
  for (int i = 0; i < 50; i++) mkfile("f" + std::to_string(i));
  bool eof = false;
  auto first = list(kRootIno, 0, true, 20, &eof);
  ASSERT_EQ(first.size(), 20u);
  EXPECT_FALSE(eof);
  ASSERT_TRUE(fs_->unlink(kRootIno, first[3].name));  // already listed
  ASSERT_TRUE(fs_->unlink(kRootIno, "f30"));          // not yet listed
  mkfile("late");
  std::set<std::string> names;
  for (auto& e : first) names.insert(e.name);
  uint64_t cookie = first.back().cookie;
  while (!eof) {
    auto page = list(kRootIno, cookie, true, 7, &eof);
    for (auto& e : page) {
      EXPECT_TRUE(names.insert(e.name).second) << "repeated " << e.name;
      EXPECT_GT(e.cookie, cookie);
      ASSERT_TRUE(e.attr);
      cookie = e.cookie;
    }
    if (page.empty()) ASSERT_TRUE(eof);
  }
  EXPECT_EQ(names.size(), 50u);  // 50 - f30 + late
  EXPECT_TRUE(names.count("late"));
  EXPECT_FALSE(names.count("f30"));
}

TEST_F(StoreReaddirTest, WithoutAttributesEntriesComeBare) {
  for (int i = 0; i < 5; i++) mkfile("f" + std::to_string(i));
  bool eof = false;
  auto got = list(kRootIno, 0, false, 0, &eof);
  EXPECT_TRUE(eof);
  ASSERT_EQ(got.size(), 5u);
  for (auto& e : got) {
    EXPECT_FALSE(e.attr);
    EXPECT_TRUE(e.handle.empty());
  }
}

TEST_F(StoreReaddirTest, AnEmptyDirectoryEndsAtOnceAndAFileIsNotADirectory) {
  ASSERT_TRUE(fs_->mkdir(kRootIno, "empty", 0755, {}));
  InodeId d = fs_->lookup(kRootIno, "empty").value().ino;
  bool eof = false;
  EXPECT_TRUE(list(d, 0, true, 0, &eof).empty());
  EXPECT_TRUE(eof);
  InodeId f = mkfile("file");
  Status st = fs_->readdir_plus(f, 0, true, [](const backend::DirEntryPlus&) { return true; }, &eof);
  EXPECT_EQ(st.err(), ENOTDIR);
}

// An overwrite in place keeps its mtime and change in memory until the
// inode is next committed; the listing must show them as getattr does.
TEST_F(StoreReaddirTest, TimesOfOverwritesInPlaceShowBeforeTheyAreCommitted) {
  InodeId f = mkfile("f");
  mkfile("g");
  put(f, 0, pattern(8192, 'a'));
  auto before = fs_->getattr(f).value();
  uint64_t commits = fs_->kv_commits();
  put(f, 0, pattern(4096, 'b'));  // written blocks, same size: in place
  ASSERT_EQ(fs_->kv_commits(), commits) << "the overwrite was not in place";
  auto after = fs_->getattr(f).value();
  ASSERT_NE(after.change, before.change);
  bool eof = false;
  auto got = list(kRootIno, 0, true, 0, &eof);
  ASSERT_EQ(got.size(), 2u);
  ASSERT_TRUE(got[0].attr);
  EXPECT_EQ(got[0].attr->change, after.change);
  EXPECT_EQ(got[0].attr->mtime, after.mtime);
  expect_matches_readdir(kRootIno, got);
}

}  // namespace
}  // namespace pnfsgw::store::test
