// StoreFs::check(): fsck. Reads the whole metadata on one snapshot and checks
// every invariant of docs/store.md "Invariants":
//   namespace  every entry names a live inode of its type, cookies and
//              entries agree, link counts match, every inode but the root is
//              reachable, directories know their parent;
//   extents    per file sorted, disjoint, inside the device and under EOF,
//              block counts match;
//   rmap       exactly one reverse record per extent record;
//   refcounts  a record (count >= 2) exactly where blocks are mapped twice+;
//   space      each device block is in exactly one of: superblock, mapped,
//              free, quarantine, or out of service (bad, unmapped); bad
//              blocks may be mapped or quarantined (until rewritten or
//              released), never free; free records are coalesced.
#include <algorithm>
#include <cinttypes>
#include <map>
#include <set>

#include "backend/store/store_fs.h"
#include "backend/store/store_internal.h"

namespace pnfsgw::store {

using backend::FileType;

namespace {

struct Report {
  std::vector<FsckProblem> out;
  size_t dropped = 0;
  template <typename... A>
  void add(const char* fmt, A... a) {
    if (out.size() >= 200) {
      dropped++;
      return;
    }
    char buf[512];
    snprintf(buf, sizeof buf, fmt, a...);
    out.push_back({buf});
  }
};

using U = unsigned long long;

struct Span {
  uint64_t start, end;  // blocks [start, end)
};

// Reads a block-keyed db into spans; reports undecodable records.
std::vector<Span> read_spans(const backend::kv::Txn& t, backend::kv::Db db, const char* name, Report& rep,
                             std::vector<uint32_t>* counts = nullptr) {
  std::vector<Span> out;
  (void)t.for_each(db, "", "", [&](std::string_view k, std::string_view v) {
    uint64_t start, len = 0;
    uint32_t count = 0;
    bool ok = decode_block_key(k, &start);
    if (ok && counts) ok = decode_refcount(v, &len, &count);
    else if (ok) {
      auto l = decode_u64(v);
      ok = l.has_value();
      len = l.value_or(0);
    }
    if (!ok || len == 0 || start + len < start) {
      rep.add("%s: undecodable or empty record", name);
      return true;
    }
    out.push_back({start, start + len});
    if (counts) counts->push_back(count);
    return true;
  });
  return out;
}

}  // namespace

Result<std::vector<FsckProblem>> StoreFs::check() {
  using R = Result<std::vector<FsckProblem>>;
  auto rt = kv_->begin_read();
  if (!rt) return R::error(rt.err());
  const backend::kv::Txn& t = *rt.value();
  Report rep;

  // --- inodes
  std::map<uint64_t, InodeRec> inodes;
  Status st = t.for_each(db_->inode, "", "", [&](std::string_view k, std::string_view v) {
    uint64_t ino;
    auto r = decode_inode(v);
    if (!decode_ino_key(k, &ino) || !r) {
      rep.add("inode record %zu bytes: undecodable", v.size());
      return true;
    }
    if (ino >= next_ino_.load()) rep.add("inode %llu: at or above next_ino %llu", U(ino), U(next_ino_.load()));
    inodes.emplace(ino, std::move(*r));
    return true;
  });
  if (!st) return R::error(st.err());
  auto root = inodes.find(kRootIno);
  if (root == inodes.end() || root->second.type != FileType::kDirectory) rep.add("root directory missing");

  // --- directory entries and cookies
  std::map<uint64_t, uint32_t> links, subdirs;
  std::set<std::pair<uint64_t, uint64_t>> cookies_seen;  // (dir, cookie) from dirents
  st = t.for_each(db_->dirent, "", "", [&](std::string_view k, std::string_view v) {
    backend::kv::KeyReader kr(k);
    uint64_t dir;
    auto d = decode_dirent(v);
    if (!kr.u64(&dir) || kr.rest().empty() || !d) {
      rep.add("directory entry: undecodable record");
      return true;
    }
    std::string name(kr.rest());
    auto di = inodes.find(dir);
    if (di == inodes.end() || di->second.type != FileType::kDirectory) {
      rep.add("entry '%s' in %llu: not a live directory", name.c_str(), U(dir));
      return true;
    }
    auto ci = inodes.find(d->child);
    if (ci == inodes.end()) {
      rep.add("entry '%s' in %llu: inode %llu does not exist", name.c_str(), U(dir), U(d->child));
      return true;
    }
    if (ci->second.type != d->type) rep.add("entry '%s' in %llu: type differs from inode %llu", name.c_str(), U(dir), U(d->child));
    if (d->cookie < kFirstCookie || d->cookie >= di->second.next_cookie)
      rep.add("entry '%s' in %llu: cookie %llu out of range", name.c_str(), U(dir), U(d->cookie));
    auto cv = t.get(db_->dircookie, backend::kv::KeyBuilder().u64(dir).u64(d->cookie).str());
    auto c = cv ? decode_cookie(cv.value()) : std::nullopt;
    if (!c || c->child != d->child || c->name != name)
      rep.add("entry '%s' in %llu: readdir record missing or different", name.c_str(), U(dir));
    cookies_seen.insert({dir, d->cookie});
    links[d->child]++;
    if (d->type == FileType::kDirectory) {
      subdirs[dir]++;
      if (ci->second.parent != dir)
        rep.add("directory %llu: parent says %llu, entry is in %llu", U(d->child), U(ci->second.parent), U(dir));
    }
    return true;
  });
  if (!st) return R::error(st.err());
  st = t.for_each(db_->dircookie, "", "", [&](std::string_view k, std::string_view) {
    backend::kv::KeyReader kr(k);
    uint64_t dir, cookie;
    if (!kr.u64(&dir) || !kr.u64(&cookie) || !cookies_seen.count({dir, cookie}))
      rep.add("readdir record (%llu, %llu) has no directory entry", U(dir), U(cookie));
    return true;
  });
  if (!st) return R::error(st.err());
  for (const auto& [ino, r] : inodes) {
    uint32_t n = links.count(ino) ? links[ino] : 0;
    if (r.type == FileType::kDirectory) {
      uint32_t want = 2 + (subdirs.count(ino) ? subdirs[ino] : 0);
      if (r.nlink != want) rep.add("directory %llu: nlink %u, should be %u", U(ino), r.nlink, want);
      if (ino != kRootIno && n != 1) rep.add("directory %llu: %u entries name it, should be 1", U(ino), n);
    } else if (r.nlink != n) {
      rep.add("inode %llu: nlink %u but %u entries name it", U(ino), r.nlink, n);
    }
    if (ino != kRootIno && n == 0) rep.add("inode %llu: unreachable (no entry names it)", U(ino));
  }

  // --- extents, and the reverse map they imply
  struct Owned {
    uint64_t pblk, ino, lblk, len;
    bool unwritten;
    auto key() const { return std::tuple(pblk, ino, lblk, len, unwritten); }
  };
  std::vector<Owned> owned;
  std::map<uint64_t, uint64_t> mapped_per_ino;
  uint64_t prev_ino = 0, prev_end = 0;
  st = t.for_each(db_->extent, "", "", [&](std::string_view k, std::string_view v) {
    uint64_t ino;
    auto e = decode_extent(k, v, &ino);
    if (!e) {
      rep.add("extent: undecodable record");
      return true;
    }
    auto ii = inodes.find(ino);
    if (ii == inodes.end() || ii->second.type != FileType::kRegular)
      rep.add("extent of %llu at block %llu: not a live regular file", U(ino), U(e->lblk));
    if (e->len == 0 || e->len > kMaxExtentBlocks) rep.add("extent of %llu at block %llu: length %llu", U(ino), U(e->lblk), U(e->len));
    if (e->pblk == 0 || e->pblk >= nblocks_ || e->len > nblocks_ - e->pblk)
      rep.add("extent of %llu at block %llu: device blocks %llu+%llu outside the device", U(ino), U(e->lblk), U(e->pblk), U(e->len));
    if (ino == prev_ino && e->lblk < prev_end) rep.add("extent of %llu at block %llu: overlaps the one before", U(ino), U(e->lblk));
    if (ii != inodes.end() && e->lend() > block_up(ii->second.size) / kBlockSize)
      rep.add("extent of %llu at block %llu: beyond EOF (%llu bytes)", U(ino), U(e->lblk), U(ii->second.size));
    prev_ino = ino, prev_end = e->lend();
    mapped_per_ino[ino] += e->len;
    owned.push_back({e->pblk, ino, e->lblk, e->len, e->unwritten});
    return true;
  });
  if (!st) return R::error(st.err());
  for (const auto& [ino, r] : inodes) {
    uint64_t m = mapped_per_ino.count(ino) ? mapped_per_ino[ino] : 0;
    if (r.blocks != m) rep.add("inode %llu: block count %llu, maps %llu", U(ino), U(r.blocks), U(m));
  }
  std::sort(owned.begin(), owned.end(), [](const Owned& a, const Owned& b) { return a.key() < b.key(); });
  std::vector<Owned> rmap;
  st = t.for_each(db_->rmap, "", "", [&](std::string_view k, std::string_view v) {
    auto m = decode_rmap(k, v);
    if (!m) rep.add("rmap: undecodable record");
    else rmap.push_back({m->pblk, m->ino, m->lblk, m->len, m->unwritten});
    return true;
  });
  if (!st) return R::error(st.err());
  {
    size_t i = 0, j = 0;
    while (i < owned.size() || j < rmap.size()) {
      if (j == rmap.size() || (i < owned.size() && owned[i].key() < rmap[j].key())) {
        rep.add("rmap: no record for extent of %llu at block %llu (device %llu+%llu)", U(owned[i].ino), U(owned[i].lblk), U(owned[i].pblk), U(owned[i].len));
        i++;
      } else if (i == owned.size() || rmap[j].key() < owned[i].key()) {
        rep.add("rmap: record (device %llu+%llu, inode %llu block %llu) matches no extent", U(rmap[j].pblk), U(rmap[j].len), U(rmap[j].ino), U(rmap[j].lblk));
        j++;
      } else {
        i++, j++;
      }
    }
  }

  // --- block classes, by a sweep over every record's boundaries
  enum Cls { kMapped, kFree, kQuar, kBad, kRef, kNcls };
  const char* names[] = {"mapped", "free", "quarantine", "bad", "refcount"};
  struct Ev {
    uint64_t at;
    int cls;
    int64_t delta;  // for kRef: the record's count (+/-)
  };
  std::vector<Ev> ev;
  for (const Owned& o : owned) ev.push_back({o.pblk, kMapped, 1}), ev.push_back({o.pblk + o.len, kMapped, -1});
  auto add_spans = [&](const std::vector<Span>& s, int cls, const char* name) {
    for (size_t i = 0; i < s.size(); i++) {
      if (i > 0 && s[i].start < s[i - 1].end) rep.add("%s: records overlap at block %llu", name, U(s[i].start));
      if (cls == kFree && i > 0 && s[i].start == s[i - 1].end) rep.add("free: records not coalesced at block %llu", U(s[i].start));
      if (s[i].start == 0 || s[i].end > nblocks_) rep.add("%s: blocks %llu-%llu outside the data area", name, U(s[i].start), U(s[i].end - 1));
      ev.push_back({s[i].start, cls, 1});
      ev.push_back({s[i].end, cls, -1});
    }
  };
  add_spans(read_spans(t, db_->free, "free", rep), kFree, "free");
  add_spans(read_spans(t, db_->quarantine, "quarantine", rep), kQuar, "quarantine");
  add_spans(read_spans(t, db_->bad, "bad", rep), kBad, "bad");
  std::vector<uint32_t> counts;
  std::vector<Span> refs = read_spans(t, db_->refcount, "refcount", rep, &counts);
  for (size_t i = 0; i < refs.size(); i++) {
    if (i > 0 && refs[i].start < refs[i - 1].end) rep.add("refcount: records overlap at block %llu", U(refs[i].start));
    if (counts[i] < 2) rep.add("refcount: record at %llu has count %u (< 2)", U(refs[i].start), counts[i]);
    ev.push_back({refs[i].start, kRef, int64_t(counts[i])});
    ev.push_back({refs[i].end, kRef, -int64_t(counts[i])});
  }
  std::sort(ev.begin(), ev.end(), [](const Ev& a, const Ev& b) { return a.at < b.at; });
  int64_t c[kNcls] = {};
  uint64_t pos = 1;  // block 0 is the superblock
  auto judge = [&](uint64_t a, uint64_t b) {
    if (a >= b) return;
    int64_t want_ref = c[kMapped] >= 2 ? c[kMapped] : 0;
    if (c[kRef] != want_ref)
      rep.add("refcount: blocks %llu-%llu are mapped %lld times, record says %lld", U(a), U(b - 1), (long long)c[kMapped], (long long)c[kRef]);
    int used = (c[kMapped] > 0) + (c[kFree] > 0) + (c[kQuar] > 0);
    if (c[kFree] > 0 && (c[kMapped] > 0 || c[kQuar] > 0 || c[kBad] > 0))
      rep.add("space: blocks %llu-%llu are free and also %s", U(a), U(b - 1), c[kMapped] ? names[kMapped] : c[kQuar] ? names[kQuar] : names[kBad]);
    else if (c[kMapped] > 0 && c[kQuar] > 0)
      rep.add("space: blocks %llu-%llu are mapped and also in quarantine", U(a), U(b - 1));
    if (used == 0 && c[kBad] == 0) rep.add("space: blocks %llu-%llu are leaked (neither mapped, free nor quarantined)", U(a), U(b - 1));
  };
  for (size_t i = 0; i < ev.size();) {
    uint64_t at = ev[i].at;
    judge(pos, std::min(at, nblocks_));
    pos = std::max(pos, at);
    for (; i < ev.size() && ev[i].at == at; i++) c[ev[i].cls] += ev[i].delta;
  }
  judge(pos, nblocks_);

  if (rep.dropped) rep.out.push_back({"... and " + std::to_string(rep.dropped) + " more problems"});
  return std::move(rep.out);
}

}  // namespace pnfsgw::store
