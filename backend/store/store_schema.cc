#include "backend/store/store_schema.h"

#include <bit>
#include <cstring>

#include "backend/kv/kv.h"

namespace pnfsgw::store {
namespace {

using backend::kv::KeyBuilder;
using backend::kv::KeyReader;

// Little-endian value writer/reader (values are not compared, only keys).
class Out {
 public:
  Out& u8(uint8_t v) {
    s_.push_back(static_cast<char>(v));
    return *this;
  }
  Out& u32(uint32_t v) {
    for (int i = 0; i < 4; i++) s_.push_back(static_cast<char>(v >> (8 * i)));
    return *this;
  }
  Out& u64(uint64_t v) {
    for (int i = 0; i < 8; i++) s_.push_back(static_cast<char>(v >> (8 * i)));
    return *this;
  }
  Out& bytes(std::string_view b) {
    s_.append(b);
    return *this;
  }
  std::string str() { return std::move(s_); }

 private:
  std::string s_;
};

class In {
 public:
  explicit In(std::string_view v) : v_(v) {}
  uint8_t u8() { return static_cast<uint8_t>(take(1)); }
  uint32_t u32() { return static_cast<uint32_t>(take(4)); }
  uint64_t u64() { return take(8); }
  std::string_view rest() const { return ok_ ? v_ : std::string_view(); }
  bool ok() const { return ok_; }

 private:
  uint64_t take(size_t n) {
    if (v_.size() < n) {
      ok_ = false;
      return 0;
    }
    uint64_t r = 0;
    if constexpr (std::endian::native == std::endian::little) {
      memcpy(&r, v_.data(), n);  // the stored order: one load, not n
    } else {
      for (size_t i = 0; i < n; i++) r |= uint64_t(static_cast<uint8_t>(v_[i])) << (8 * i);
    }
    v_.remove_prefix(n);
    return r;
  }
  std::string_view v_;
  bool ok_ = true;
};

bool valid_type(uint8_t t) { return t >= 1 && t <= 7; }

void put_time(Out& o, const backend::Timespec& t) { o.u64(static_cast<uint64_t>(t.sec)).u32(t.nsec); }
backend::Timespec get_time(In& in) {
  backend::Timespec t;
  t.sec = static_cast<int64_t>(in.u64());
  t.nsec = in.u32();
  return t;
}

constexpr uint8_t kUnwrittenFlag = 1;

}  // namespace

std::string encode_inode(const InodeRec& r) {
  Out o;
  o.u8(static_cast<uint8_t>(r.type)).u32(r.mode).u32(r.nlink).u32(r.uid).u32(r.gid);
  o.u64(r.size).u64(r.blocks).u32(r.rdev_major).u32(r.rdev_minor);
  put_time(o, r.atime);
  put_time(o, r.mtime);
  put_time(o, r.ctime);
  o.u64(r.change).u64(r.parent).u64(r.next_cookie).bytes(r.target);
  return std::move(o).str();
}

std::optional<InodeRec> decode_inode(std::string_view v) {
  In in(v);
  InodeRec r;
  uint8_t t = in.u8();
  r.type = static_cast<backend::FileType>(t);
  r.mode = in.u32();
  r.nlink = in.u32();
  r.uid = in.u32();
  r.gid = in.u32();
  r.size = in.u64();
  r.blocks = in.u64();
  r.rdev_major = in.u32();
  r.rdev_minor = in.u32();
  r.atime = get_time(in);
  r.mtime = get_time(in);
  r.ctime = get_time(in);
  r.change = in.u64();
  r.parent = in.u64();
  r.next_cookie = in.u64();
  if (!in.ok() || !valid_type(t)) return std::nullopt;
  r.target = std::string(in.rest());
  return r;
}

std::string encode_dirent(const DirentRec& r) {
  return Out().u64(r.child).u8(static_cast<uint8_t>(r.type)).u64(r.cookie).str();
}
std::optional<DirentRec> decode_dirent(std::string_view v) {
  In in(v);
  DirentRec r;
  r.child = in.u64();
  uint8_t t = in.u8();
  r.type = static_cast<backend::FileType>(t);
  r.cookie = in.u64();
  if (!in.ok() || !valid_type(t) || !in.rest().empty()) return std::nullopt;
  return r;
}

std::string encode_cookie(const CookieRec& r) {
  return Out().u64(r.child).u8(static_cast<uint8_t>(r.type)).bytes(r.name).str();
}
std::optional<CookieView> decode_cookie_view(std::string_view v) {
  In in(v);
  CookieView r;
  r.child = in.u64();
  uint8_t t = in.u8();
  r.type = static_cast<backend::FileType>(t);
  if (!in.ok() || !valid_type(t) || in.rest().empty()) return std::nullopt;
  r.name = in.rest();
  return r;
}
std::optional<CookieRec> decode_cookie(std::string_view v) {
  auto r = decode_cookie_view(v);
  if (!r) return std::nullopt;
  return CookieRec{r->child, r->type, std::string(r->name)};
}

// The hot keys are written in place: KeyBuilder's appends cost ~500
// instructions for a 16-byte key (its string outgrows the small-string
// buffer on the second field).
std::string extent_key(uint64_t ino, uint64_t lblk) {
  std::string k(16, '\0');
  backend::kv::put_be64(k.data(), ino);
  backend::kv::put_be64(k.data() + 8, lblk);
  return k;
}
std::string encode_extent_value(const Extent& e) {
  return Out().u64(e.len).u64(e.pblk).u8(e.unwritten ? kUnwrittenFlag : 0).str();
}
std::optional<Extent> decode_extent(std::string_view key, std::string_view value, uint64_t* ino) {
  KeyReader k(key);
  uint64_t i, lblk;
  if (!k.u64(&i) || !k.u64(&lblk) || !k.rest().empty()) return std::nullopt;
  In in(value);
  Extent e;
  e.lblk = lblk;
  e.len = in.u64();
  e.pblk = in.u64();
  uint8_t f = in.u8();
  if (!in.ok() || !in.rest().empty() || (f & ~kUnwrittenFlag) != 0) return std::nullopt;
  e.unwritten = (f & kUnwrittenFlag) != 0;
  if (ino) *ino = i;
  return e;
}

std::string rmap_key(uint64_t pblk, uint64_t ino, uint64_t lblk) {
  return KeyBuilder().u64(pblk).u64(ino).u64(lblk).str();
}
std::string encode_rmap_value(const Extent& e) {
  return Out().u64(e.len).u8(e.unwritten ? kUnwrittenFlag : 0).str();
}
std::optional<RmapRec> decode_rmap(std::string_view key, std::string_view value) {
  KeyReader k(key);
  RmapRec r;
  if (!k.u64(&r.pblk) || !k.u64(&r.ino) || !k.u64(&r.lblk) || !k.rest().empty()) return std::nullopt;
  In in(value);
  r.len = in.u64();
  uint8_t f = in.u8();
  if (!in.ok() || !in.rest().empty() || (f & ~kUnwrittenFlag) != 0) return std::nullopt;
  r.unwritten = (f & kUnwrittenFlag) != 0;
  return r;
}

std::string block_key(uint64_t pblk) {
  std::string k(8, '\0');
  backend::kv::put_be64(k.data(), pblk);
  return k;
}
bool decode_block_key(std::string_view key, uint64_t* pblk) {
  KeyReader k(key);
  return k.u64(pblk) && k.rest().empty();
}
std::string encode_u64(uint64_t v) { return Out().u64(v).str(); }
std::optional<uint64_t> decode_u64(std::string_view v) {
  In in(v);
  uint64_t r = in.u64();
  if (!in.ok() || !in.rest().empty()) return std::nullopt;
  return r;
}
std::string encode_refcount(uint64_t len, uint32_t count) { return Out().u64(len).u32(count).str(); }
bool decode_refcount(std::string_view v, uint64_t* len, uint32_t* count) {
  In in(v);
  *len = in.u64();
  *count = in.u32();
  return in.ok() && in.rest().empty();
}

std::string ino_key(uint64_t ino) { return block_key(ino); }  // the same layout
bool decode_ino_key(std::string_view key, uint64_t* ino) { return decode_block_key(key, ino); }

}  // namespace pnfsgw::store
