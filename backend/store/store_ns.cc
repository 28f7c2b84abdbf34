// StoreFs: the namespace (directories, links, rename, readdir).
#include <sys/stat.h>

#include "backend/store/store_fs.h"
#include "backend/store/store_internal.h"

namespace pnfsgw::store {

using backend::Attr;
using backend::FileType;
using backend::InodeId;

namespace {

constexpr uint32_t kMaxLinks = 65000;
constexpr size_t kNameMax = 255;

std::string dirent_key(InodeId dir, std::string_view name) {
  return backend::kv::KeyBuilder().u64(dir).bytes(name).str();
}
std::string cookie_key(InodeId dir, uint64_t cookie) {
  return backend::kv::KeyBuilder().u64(dir).u64(cookie).str();
}

Status check_name(std::string_view name) {
  if (name.empty() || name == "." || name == ".." || name.find('/') != std::string_view::npos ||
      name.find('\0') != std::string_view::npos)
    return Status::error(EINVAL);
  if (name.size() > kNameMax) return Status::error(ENAMETOOLONG);
  return Status::ok();
}

}  // namespace

Result<std::optional<DirentRec>> StoreFs::find_entry(const backend::kv::Txn& t, InodeId dir,
                                                     std::string_view name) {
  auto v = t.get(db_->dirent, dirent_key(dir, name));
  if (!v) {
    if (v.err() == ENOENT) return std::optional<DirentRec>();
    return Result<std::optional<DirentRec>>::error(v.err());
  }
  auto d = decode_dirent(v.value());
  if (!d) return Result<std::optional<DirentRec>>::error(EIO);
  return std::optional<DirentRec>(*d);
}

Status StoreFs::add_entry(Tx& t, InodeId dir, InodeRec& dir_rec, std::string_view name,
                          InodeId child, FileType type) {
  DirentRec d{child, type, dir_rec.next_cookie++};
  Status st = t.w.put(db_->dirent, dirent_key(dir, name), encode_dirent(d));
  if (st) st = t.w.put(db_->dircookie, cookie_key(dir, d.cookie), encode_cookie({child, type, std::string(name)}));
  return st;
}

Status StoreFs::del_entry(Tx& t, InodeId dir, std::string_view name, const DirentRec& de) {
  Status st = t.w.del(db_->dirent, dirent_key(dir, name));
  if (st) st = t.w.del(db_->dircookie, cookie_key(dir, de.cookie));
  return st.err() == ENOENT ? Status::error(EIO) : st;
}

Result<Attr> StoreFs::lookup(InodeId dir, std::string_view name) {
  if (Status st = check_name(name); !st) return Result<Attr>::error(st.err());
  auto rt = kv_->begin_read();
  if (!rt) return Result<Attr>::error(rt.err());
  auto d = get_inode(*rt.value(), dir);
  if (!d) return Result<Attr>::error(d.err());
  if (d.value().type != FileType::kDirectory) return Result<Attr>::error(ENOTDIR);
  auto e = find_entry(*rt.value(), dir, name);
  if (!e) return Result<Attr>::error(e.err());
  if (!e.value()) return Result<Attr>::error(ENOENT);
  auto c = get_inode(*rt.value(), e.value()->child);
  if (!c) return Result<Attr>::error(c.err() == ESTALE ? EIO : c.err());  // a dangling entry
  return to_attr(e.value()->child, c.value());
}

Result<Attr> StoreFs::lookup_parent(InodeId dir) {
  auto rt = kv_->begin_read();
  if (!rt) return Result<Attr>::error(rt.err());
  auto d = get_inode(*rt.value(), dir);
  if (!d) return Result<Attr>::error(d.err());
  if (d.value().type != FileType::kDirectory) return Result<Attr>::error(ENOTDIR);
  auto p = get_inode(*rt.value(), d.value().parent);
  if (!p) return Result<Attr>::error(p.err());
  return to_attr(d.value().parent, p.value());
}

Result<Attr> StoreFs::make_node(InodeId dir, std::string_view name, InodeRec rec,
                                backend::CreateMode how, bool* created) {
  if (Status st = check_name(name); !st) return Result<Attr>::error(st.err());
  Attr out;
  bool made = false;
  Status st = mutate([&](Tx& t) {
    auto d = get_inode(t.w, dir);
    if (!d) return d.status();
    InodeRec& drec = d.value();
    if (drec.type != FileType::kDirectory) return Status::error(ENOTDIR);
    auto e = find_entry(t.w, dir, name);
    if (!e) return e.status();
    if (e.value()) {
      if (how == backend::CreateMode::kUnchecked && rec.type == FileType::kRegular &&
          e.value()->type == FileType::kRegular) {
        auto c = get_inode(t.w, e.value()->child);
        if (!c) return c.status();
        out = to_attr(e.value()->child, c.value());
        return Status::ok();
      }
      return Status::error(EEXIST);
    }
    if (rec.type == FileType::kDirectory && drec.nlink >= kMaxLinks) return Status::error(EMLINK);
    InodeId ino = next_ino_++;
    rec.atime = rec.mtime = rec.ctime = now();
    rec.change = 1;
    if (drec.mode & S_ISGID) {  // BSD group semantics under a setgid directory
      rec.gid = drec.gid;
      if (rec.type == FileType::kDirectory) rec.mode |= S_ISGID;
    }
    if (rec.type == FileType::kDirectory) {
      rec.nlink = 2;
      rec.parent = dir;
      rec.next_cookie = kFirstCookie;
      drec.nlink++;
    } else {
      rec.nlink = 1;
    }
    if (Status s = add_entry(t, dir, drec, name, ino, rec.type); !s) return s;
    touch(drec, true);
    if (Status s = put_inode(t, dir, drec); !s) return s;
    if (Status s = put_inode(t, ino, rec); !s) return s;
    out = to_attr(ino, rec);
    made = true;
    return Status::ok();
  });
  if (!st) return Result<Attr>::error(st.err());
  if (created) *created = made;
  return out;
}

Result<Attr> StoreFs::create(InodeId dir, std::string_view name, uint32_t mode,
                             const backend::Cred& cred, backend::CreateMode how, bool* created) {
  InodeRec r;
  r.type = FileType::kRegular;
  r.mode = mode & 07777;
  r.uid = cred.uid;
  r.gid = cred.gid;
  return make_node(dir, name, std::move(r), how, created);
}

Result<Attr> StoreFs::mkdir(InodeId dir, std::string_view name, uint32_t mode,
                            const backend::Cred& cred) {
  InodeRec r;
  r.type = FileType::kDirectory;
  r.mode = mode & 07777;
  r.uid = cred.uid;
  r.gid = cred.gid;
  return make_node(dir, name, std::move(r), backend::CreateMode::kExclusive, nullptr);
}

Result<Attr> StoreFs::symlink(InodeId dir, std::string_view name, std::string_view target,
                              const backend::Cred& cred) {
  if (target.empty() || target.size() > 4095) return Result<Attr>::error(target.empty() ? ENOENT : ENAMETOOLONG);
  InodeRec r;
  r.type = FileType::kSymlink;
  r.mode = 0777;
  r.uid = cred.uid;
  r.gid = cred.gid;
  r.target = std::string(target);
  return make_node(dir, name, std::move(r), backend::CreateMode::kExclusive, nullptr);
}

Result<Attr> StoreFs::mknod(InodeId dir, std::string_view name, FileType type, uint32_t mode,
                            uint32_t rdev_major, uint32_t rdev_minor, const backend::Cred& cred) {
  if (type == FileType::kRegular || type == FileType::kDirectory || type == FileType::kSymlink)
    return Result<Attr>::error(EINVAL);
  InodeRec r;
  r.type = type;
  r.mode = mode & 07777;
  r.uid = cred.uid;
  r.gid = cred.gid;
  if (type == FileType::kBlock || type == FileType::kChar) r.rdev_major = rdev_major, r.rdev_minor = rdev_minor;
  return make_node(dir, name, std::move(r), backend::CreateMode::kExclusive, nullptr);
}

Result<Attr> StoreFs::link(InodeId target, InodeId dir, std::string_view name) {
  if (Status st = check_name(name); !st) return Result<Attr>::error(st.err());
  Attr out;
  Status st = mutate([&](Tx& t) {
    auto d = get_inode(t.w, dir);
    if (!d) return d.status();
    if (d.value().type != FileType::kDirectory) return Status::error(ENOTDIR);
    auto c = get_inode(t.w, target);
    if (!c) return c.status();
    if (c.value().type == FileType::kDirectory) return Status::error(EPERM);
    if (c.value().nlink >= kMaxLinks) return Status::error(EMLINK);
    auto e = find_entry(t.w, dir, name);
    if (!e) return e.status();
    if (e.value()) return Status::error(EEXIST);
    if (Status s = add_entry(t, dir, d.value(), name, target, c.value().type); !s) return s;
    touch(d.value(), true);
    c.value().nlink++;
    touch(c.value(), false);
    if (Status s = put_inode(t, dir, d.value()); !s) return s;
    if (Status s = put_inode(t, target, c.value()); !s) return s;
    out = to_attr(target, c.value());
    return Status::ok();
  });
  if (!st) return Result<Attr>::error(st.err());
  return out;
}

Status StoreFs::free_inode(Tx& t, const BreakToken* tok, InodeId ino, InodeRec& rec) {
  if (rec.type == FileType::kRegular && rec.blocks > 0) {
    if (!covers(tok, ino, 0, UINT64_MAX, BreakKind::kUnmap)) return Status::error(kReplan);
    if (Status st = remap(t, ino, rec, 0, kMaxFileBlocks, {}); !st) return st;
  }
  Status st = t.w.del(db_->inode, ino_key(ino));
  if (st) t.freed.push_back(ino);
  return st.err() == ENOENT ? Status::error(EIO) : st;
}

Status StoreFs::drop_link(Tx& t, const BreakToken* tok, InodeId dir, InodeRec& dir_rec,
                          std::string_view name, const DirentRec& de, InodeRec& child) {
  if (Status st = del_entry(t, dir, name, de); !st) return st;
  touch(dir_rec, true);
  if (child.type == FileType::kDirectory) {
    dir_rec.nlink--;
    return free_inode(t, tok, de.child, child);
  }
  if (--child.nlink == 0) return free_inode(t, tok, de.child, child);
  touch(child, false);
  return put_inode(t, de.child, child);
}

// What removing `name` from `dir` must break: the file's whole mapping when
// its last link goes (a regular file with blocks), else nothing.
Status StoreFs::plan_victim(InodeId dir, std::string_view name, uint64_t* file, uint64_t* off,
                            uint64_t* len, BreakKind* kind) {
  *len = 0;
  auto rt = kv_->begin_read();
  if (!rt) return rt.status();
  auto e = find_entry(*rt.value(), dir, name);
  if (!e) return e.status();
  if (!e.value()) return Status::ok();  // the change reports it
  auto c = get_inode(*rt.value(), e.value()->child);
  if (!c) return Status::ok();
  if (c.value().type == FileType::kRegular && c.value().nlink == 1 && c.value().blocks > 0) {
    *file = e.value()->child;
    *off = 0;
    *len = UINT64_MAX;
    *kind = BreakKind::kUnmap;
  }
  return Status::ok();
}

Status StoreFs::remove(InodeId dir, std::string_view name, bool want_dir) {
  if (Status st = check_name(name); !st) return st;
  return broken_change(
      [&](uint64_t* file, uint64_t* off, uint64_t* len, BreakKind* kind) {
        return plan_victim(dir, name, file, off, len, kind);
      },
      [&](Tx& t, const BreakToken* tok) {
        auto d = get_inode(t.w, dir);
        if (!d) return d.status();
        if (d.value().type != FileType::kDirectory) return Status::error(ENOTDIR);
        auto e = find_entry(t.w, dir, name);
        if (!e) return e.status();
        if (!e.value()) return Status::error(ENOENT);
        auto c = get_inode(t.w, e.value()->child);
        if (!c) return Status::error(EIO);
        bool is_dir = c.value().type == FileType::kDirectory;
        if (want_dir && !is_dir) return Status::error(ENOTDIR);
        if (!want_dir && is_dir) return Status::error(EISDIR);
        if (is_dir) {
          auto empty = dir_empty(t.w, e.value()->child);
          if (!empty) return empty.status();
          if (!empty.value()) return Status::error(ENOTEMPTY);
        }
        if (Status s = drop_link(t, tok, dir, d.value(), name, *e.value(), c.value()); !s) return s;
        return put_inode(t, dir, d.value());
      });
}

Status StoreFs::unlink(InodeId dir, std::string_view name) { return remove(dir, name, false); }
Status StoreFs::rmdir(InodeId dir, std::string_view name) { return remove(dir, name, true); }

Result<bool> StoreFs::dir_empty(const backend::kv::Txn& t, InodeId dir) {
  bool empty = true;
  Status st = t.for_each(db_->dircookie, cookie_key(dir, 0), cookie_key(dir + 1, 0),
                         [&](std::string_view, std::string_view) { return empty = false, false; });
  if (!st) return Result<bool>::error(st.err());
  return empty;
}

Status StoreFs::rename(InodeId src_dir, std::string_view src_name, InodeId dst_dir,
                       std::string_view dst_name) {
  if (Status st = check_name(src_name); !st) return st;
  if (Status st = check_name(dst_name); !st) return st;
  return broken_change(
      [&](uint64_t* file, uint64_t* off, uint64_t* len, BreakKind* kind) {
        return plan_victim(dst_dir, dst_name, file, off, len, kind);
      },
      [&](Tx& t, const BreakToken* tok) -> Status {
        auto sd = get_inode(t.w, src_dir);
        if (!sd) return sd.status();
        auto ddr = src_dir == dst_dir ? Result<InodeRec>(InodeRec{}) : get_inode(t.w, dst_dir);
        if (!ddr) return ddr.status();
        InodeRec& srec = sd.value();
        InodeRec& drec = src_dir == dst_dir ? srec : ddr.value();
        if (srec.type != FileType::kDirectory || drec.type != FileType::kDirectory)
          return Status::error(ENOTDIR);
        auto se = find_entry(t.w, src_dir, src_name);
        if (!se) return se.status();
        if (!se.value()) return Status::error(ENOENT);
        DirentRec src = *se.value();
        auto c = get_inode(t.w, src.child);
        if (!c) return Status::error(EIO);
        bool src_is_dir = c.value().type == FileType::kDirectory;
        if (src_is_dir && src_dir != dst_dir) {  // no directory into itself
          for (InodeId p = dst_dir; ; ) {
            if (p == src.child) return Status::error(EINVAL);
            if (p == kRootIno) break;
            auto pr = get_inode(t.w, p);
            if (!pr) return pr.status();
            p = pr.value().parent;
          }
        }
        auto de = find_entry(t.w, dst_dir, dst_name);
        if (!de) return de.status();
        if (de.value()) {
          DirentRec victim = *de.value();
          if (victim.child == src.child) return Status::ok();  // same file: nothing to do
          auto v = get_inode(t.w, victim.child);
          if (!v) return Status::error(EIO);
          bool v_dir = v.value().type == FileType::kDirectory;
          if (src_is_dir && !v_dir) return Status::error(ENOTDIR);
          if (!src_is_dir && v_dir) return Status::error(EISDIR);
          if (v_dir) {
            auto empty = dir_empty(t.w, victim.child);
            if (!empty) return empty.status();
            if (!empty.value()) return Status::error(ENOTEMPTY);
          }
          if (Status s = drop_link(t, tok, dst_dir, drec, dst_name, victim, v.value()); !s) return s;
        }
        if (Status s = del_entry(t, src_dir, src_name, src); !s) return s;
        if (Status s = add_entry(t, dst_dir, drec, dst_name, src.child, src.type); !s) return s;
        if (src_is_dir && src_dir != dst_dir) {
          srec.nlink--;
          drec.nlink++;
          c.value().parent = dst_dir;
        }
        touch(c.value(), false);
        touch(srec, true);
        if (src_dir != dst_dir) touch(drec, true);
        if (Status s = put_inode(t, src.child, c.value()); !s) return s;
        if (Status s = put_inode(t, src_dir, srec); !s) return s;
        if (src_dir != dst_dir)
          if (Status s = put_inode(t, dst_dir, drec); !s) return s;
        return Status::ok();
      });
}

Result<std::string> StoreFs::readlink(InodeId ino) {
  auto rt = kv_->begin_read();
  if (!rt) return Result<std::string>::error(rt.err());
  auto r = get_inode(*rt.value(), ino);
  if (!r) return Result<std::string>::error(r.err());
  if (r.value().type != FileType::kSymlink) return Result<std::string>::error(EINVAL);
  return r.value().target;
}

Result<backend::ReaddirPage> StoreFs::readdir(InodeId dir, uint64_t cookie, size_t max_entries) {
  using R = Result<backend::ReaddirPage>;
  auto rt = kv_->begin_read();
  if (!rt) return R::error(rt.err());
  auto d = get_inode(*rt.value(), dir);
  if (!d) return R::error(d.err());
  if (d.value().type != FileType::kDirectory) return R::error(ENOTDIR);
  backend::ReaddirPage page;
  page.eof = true;
  bool bad = false;
  uint64_t from = cookie == UINT64_MAX ? cookie : cookie + 1;
  Status st = rt.value()->for_each(
      db_->dircookie, cookie_key(dir, from), cookie_key(dir + 1, 0),
      [&](std::string_view k, std::string_view v) {
        if (page.entries.size() == max_entries) return page.eof = false, false;
        backend::kv::KeyReader kr(k);
        uint64_t kd, c;
        auto rec = decode_cookie(v);
        if (!kr.u64(&kd) || !kr.u64(&c) || !rec) return bad = true, false;
        page.entries.push_back({std::move(rec->name), rec->child, rec->type, c});
        return true;
      });
  if (!st) return R::error(st.err());
  if (bad) return R::error(EIO);
  return page;
}

Status StoreFs::readdir_plus(InodeId dir, uint64_t cookie, bool want_attrs,
                             const backend::ReaddirPlusFn& fn, bool* eof) {
  *eof = false;
  // Before the snapshot (any_dirty_times() says why): usually nothing to
  // fold, and then no lock per entry.
  const bool fold = want_attrs && any_dirty_times();
  auto rt = kv_->begin_read();
  if (!rt) return rt.status();
  const backend::kv::Txn& t = *rt.value();
  auto d = get_inode(t, dir);
  if (!d) return d.status();
  if (d.value().type != FileType::kDirectory) return Status::error(ENOTDIR);
  auto entries = t.cursor(db_->dircookie);
  if (!entries) return entries.status();
  std::unique_ptr<backend::kv::Cursor> inodes;
  if (want_attrs) {
    auto c = t.cursor(db_->inode);
    if (!c) return c.status();
    inodes = std::move(c).value();
  }
  backend::kv::Cursor& ec = *entries.value();
  uint64_t from = cookie == UINT64_MAX ? cookie : cookie + 1;
  uint64_t at_ino = 0;  // the inode record the inode cursor is on; 0: none
  Status st = ec.seek(cookie_key(dir, from));
  for (; st; st = ec.next()) {
    std::string_view k = ec.key();
    if (k.size() != 16) return Status::error(EIO);
    if (backend::kv::get_be64(k.data()) != dir) break;  // past the directory's records
    auto rec = decode_cookie_view(ec.value());
    if (!rec) return Status::error(EIO);
    backend::DirEntryPlus e{rec->name, rec->child, rec->type, backend::kv::get_be64(k.data() + 8),
                            nullptr, {}};
    Attr attr;
    uint8_t handle[kHandleSize];
    if (want_attrs) {
      // Entries are mostly in inode order (both grow as files are made), so
      // the next inode record is usually the one wanted: a step instead of
      // a search.
      std::optional<std::string_view> v;
      if (at_ino != 0 && at_ino < rec->child && inodes->next() && inodes->key().size() == 8 &&
          backend::kv::get_be64(inodes->key().data()) == rec->child) {
        v = inodes->value();
      } else {
        char key[8];
        backend::kv::put_be64(key, rec->child);
        auto f = inodes->find(std::string_view(key, sizeof key));
        if (!f && f.err() != ENOENT) return f.status();
        if (f) v = f.value();
      }
      at_ino = v ? rec->child : 0;
      std::optional<InodeRec> r;
      if (v) r = decode_inode(*v);
      if (r) {
        if (fold) fold_times(rec->child, *r);
        attr = to_attr(rec->child, *r);
        e.attr = &attr;
      }
      handle_bytes(rec->child, handle);
      e.handle = handle;
    }
    if (!fn(e)) return Status::ok();
  }
  if (!st && st.err() != ENOENT) return st;
  *eof = true;
  return Status::ok();
}

}  // namespace pnfsgw::store
