// READDIR and READDIRPLUS: cookies, limits, entries.
#include <map>
#include <set>

#include "tests/unit/nfs3/nfs3_test_util.h"

namespace pnfsgw::nfs3::testing {
namespace {

struct Entry {
  uint64_t fileid = 0;
  std::string name;
  uint64_t cookie = 0;
  std::optional<Fattr3> attr;  // READDIRPLUS
  Fh fh;                       // READDIRPLUS, when given
};

struct Listing {
  uint32_t status = 0;
  std::optional<Fattr3> dir_attr;
  std::vector<Entry> entries;
  bool eof = false;
  size_t resok_bytes = 0;   // everything after the status
  size_t entry3_bytes = 0;  // the fileid/name/cookie parts, with value_follows
};

class Nfs3ReaddirTest : public Nfs3ProcTest {
 protected:
  Listing list(const Fh& dir, uint64_t cookie, uint32_t count, bool plus = false,
               uint32_t dircount = 0, uint64_t verf = 0) {
    xdr::XdrEncoder a;
    put_fh(a, dir);
    a.u64(cookie);
    a.u64(verf);
    if (plus) a.u32(dircount);
    a.u32(count);
    Reply r = call(plus ? NFSPROC3_READDIRPLUS : NFSPROC3_READDIR, a);
    EXPECT_EQ(r.stat, rpc::SUCCESS);
    auto d = r.dec();
    Listing l;
    l.status = d.u32();
    l.resok_bytes = r.bytes.size() - 4;
    l.dir_attr = get_post_op(d);
    if (l.status != NFS3_OK) return l;
    EXPECT_EQ(d.u64(), 0u);  // cookieverf
    while (d.ok() && d.boolean()) {
      Entry e;
      size_t at = d.remaining();
      e.fileid = d.u64();
      e.name = std::string(d.string(1024));
      e.cookie = d.u64();
      l.entry3_bytes += 4 + at - d.remaining();
      if (plus) {
        e.attr = get_post_op(d);
        if (d.boolean()) e.fh = get_fh(d);
      }
      l.entries.push_back(std::move(e));
    }
    l.eof = d.boolean();
    EXPECT_TRUE(d.ok() && d.remaining() == 0);
    return l;
  }
};

TEST_F(Nfs3ReaddirTest, FiveThousandEntriesAreListedCompletelyThroughCookies) {
  host_links("entry-", 5000);
  std::map<std::string, int> seen;
  uint64_t cookie = 0;
  int calls = 0;
  for (bool eof = false; !eof; calls++) {
    ASSERT_LT(calls, 2000) << "no progress";
    Listing l = list(root_fh_, cookie, 4096);
    ASSERT_EQ(l.status, NFS3_OK);
    EXPECT_LE(l.resok_bytes, 4096u);
    ASSERT_TRUE(l.eof || !l.entries.empty());
    for (const Entry& e : l.entries) seen[e.name]++;
    if (!l.entries.empty()) cookie = l.entries.back().cookie;
    eof = l.eof;
  }
  EXPECT_GT(calls, 10);
  EXPECT_EQ(seen.size(), 5002u);
  EXPECT_EQ(seen["."], 1);
  EXPECT_EQ(seen[".."], 1);
  for (int i = 0; i < 5000; i++) EXPECT_EQ(seen["entry-" + std::to_string(i)], 1) << i;
}

TEST_F(Nfs3ReaddirTest, DotAndDotDotComeFirstWithCookiesOneAndTwo) {
  mkdir(root(), "sub");
  Fh sub = lookup(root_fh_, "sub");
  create(sub, "x");
  Listing l = list(sub, 0, 4096);
  ASSERT_EQ(l.status, NFS3_OK);
  ASSERT_EQ(l.entries.size(), 3u);
  EXPECT_EQ(l.entries[0].name, ".");
  EXPECT_EQ(l.entries[0].cookie, 1u);
  EXPECT_EQ(l.entries[0].fileid, getattr(sub).fileid);
  EXPECT_EQ(l.entries[1].name, "..");
  EXPECT_EQ(l.entries[1].cookie, 2u);
  EXPECT_EQ(l.entries[1].fileid, root());
  EXPECT_EQ(l.entries[2].name, "x");
  EXPECT_TRUE(l.eof);
  Listing from1 = list(sub, 1, 4096);
  ASSERT_EQ(from1.entries.size(), 2u);
  EXPECT_EQ(from1.entries[0].name, "..");
  Listing from2 = list(sub, 2, 4096);
  ASSERT_EQ(from2.entries.size(), 1u);
  EXPECT_EQ(from2.entries[0].name, "x");
}

TEST_F(Nfs3ReaddirTest, AnyCookieVerifierIsAccepted) {
  host_links("n", 50);
  Listing first = list(root_fh_, 0, 512);
  ASSERT_FALSE(first.entries.empty());
  Listing next = list(root_fh_, first.entries.back().cookie, 512, false, 0, 0xdeadbeefull);
  EXPECT_EQ(next.status, NFS3_OK);
  EXPECT_FALSE(next.entries.empty());
}

TEST_F(Nfs3ReaddirTest, ACountTooSmallForOneEntryIsToosmall) {
  EXPECT_EQ(list(root_fh_, 0, 50).status, NFS3ERR_TOOSMALL);
  EXPECT_EQ(list(root_fh_, 0, 110).status, NFS3ERR_TOOSMALL);  // header fits, "." does not
  EXPECT_EQ(list(root_fh_, 0, 110, true, 4096).status, NFS3ERR_TOOSMALL);
  EXPECT_EQ(list(root_fh_, 0, 4096, true, 8).status, NFS3ERR_TOOSMALL);
}

TEST_F(Nfs3ReaddirTest, ReaddirOfAFileIsNotdir) {
  Fh f = create(root_fh_, "f");
  EXPECT_EQ(list(f, 0, 4096).status, NFS3ERR_NOTDIR);
  EXPECT_EQ(list(f, 0, 4096, true, 4096).status, NFS3ERR_NOTDIR);
}

TEST_F(Nfs3ReaddirTest, ReaddirplusEntriesCarryAttributesAndTheLookupHandle) {
  create(root_fh_, "a", 0600);
  mkdir(root(), "b");
  Listing l = list(root_fh_, 0, 65536, true, 65536);
  ASSERT_EQ(l.status, NFS3_OK);
  EXPECT_TRUE(l.eof);
  ASSERT_EQ(l.entries.size(), 4u);
  for (const Entry& e : l.entries) {
    ASSERT_TRUE(e.attr) << e.name;
    EXPECT_EQ(e.attr->fileid, e.fileid) << e.name;
    EXPECT_EQ(e.attr->fsid, kExportId);
    ASSERT_FALSE(e.fh.empty()) << e.name;
    EXPECT_EQ(e.fh, lookup(root_fh_, e.name)) << e.name;
    if (e.name == "a") {
      EXPECT_EQ(e.attr->mode, 0600u);
    }
    if (e.name == "b") {
      EXPECT_EQ(e.attr->type, NF3DIR);
    }
  }
}

TEST_F(Nfs3ReaddirTest, ReaddirplusHonoursDircountAndMaxcount) {
  host_links("entry-", 300);
  std::set<std::string> seen;
  uint64_t cookie = 0;
  for (bool eof = false; !eof;) {
    Listing l = list(root_fh_, cookie, 8192, true, 1024);
    ASSERT_EQ(l.status, NFS3_OK);
    EXPECT_LE(l.resok_bytes, 8192u);
    EXPECT_LE(l.entry3_bytes, 1024u);
    ASSERT_TRUE(l.eof || !l.entries.empty());
    for (const Entry& e : l.entries) EXPECT_TRUE(seen.insert(e.name).second) << e.name;
    if (!l.entries.empty()) cookie = l.entries.back().cookie;
    eof = l.eof;
  }
  EXPECT_EQ(seen.size(), 302u);
}

}  // namespace
}  // namespace pnfsgw::nfs3::testing
