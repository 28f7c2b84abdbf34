#include "tests/crash/crash_model.h"

#include <algorithm>
#include <cstdio>

namespace pnfsgw::store::crash {
namespace {

uint64_t up(uint64_t v) { return (v + kB - 1) / kB * kB; }
uint64_t down(uint64_t v) { return v / kB * kB; }

void zero_alts(FileModel& f, uint64_t off, uint64_t len) {
  for (auto& [b, list] : f.alts) {
    uint64_t s = std::max(off, b * kB), e = std::min(off + len, (b + 1) * kB);
    if (s >= e) continue;
    for (std::string& a : list) std::fill(a.begin() + (s - b * kB), a.begin() + (e - b * kB), '\0');
  }
}

// Moves every alternative at or after block `from` by delta blocks.
void shift_alts(FileModel& f, uint64_t from, int64_t delta) {
  std::map<uint64_t, std::vector<std::string>> out;
  for (auto& [b, list] : f.alts) out.emplace(b >= from ? b + delta : b, std::move(list));
  f.alts = std::move(out);
}

}  // namespace

std::string FileModel::block(uint64_t b) const {
  std::string out(kB, '\0');
  if (b * kB < data.size()) {
    size_t n = std::min<uint64_t>(kB, data.size() - b * kB);
    out.replace(0, n, data, b * kB, n);
  }
  return out;
}

void FileModel::add_alt(uint64_t b, std::string content) {
  std::vector<std::string>& list = alts[b];
  if (std::find(list.begin(), list.end(), content) == list.end()) list.push_back(std::move(content));
}

void model_write(FileModel& f, uint64_t off, std::string_view bytes, const BlockKinds& kinds) {
  if (bytes.empty()) return;
  uint64_t end = off + bytes.size();
  for (uint64_t b = off / kB; b * kB < end; b++) {
    BlockKind k = b < kinds.size() ? kinds[b] : BlockKind::kHole;
    if (k == BlockKind::kPrivate) f.add_alt(b, f.block(b));
    else f.alts.erase(b);
  }
  if (end > f.data.size()) f.data.resize(end, '\0');
  f.data.replace(off, bytes.size(), bytes);
}

void model_zero(FileModel& f, uint64_t off, uint64_t len) {
  if (off < f.data.size()) {
    uint64_t n = std::min<uint64_t>(len, f.data.size() - off);
    std::fill(f.data.begin() + off, f.data.begin() + off + n, '\0');
  }
  zero_alts(f, off, len);
}

void model_truncate(FileModel& f, uint64_t size) {
  if (size < f.data.size()) {
    // The store zeroes the rest of the new last block: it must read as
    // zeroes when the file grows again, after a crash too.
    model_zero(f, size, up(size) - size);
    f.alts.erase(f.alts.lower_bound(up(size) / kB), f.alts.end());
  }
  f.data.resize(size, '\0');
}

void model_punch(FileModel& f, uint64_t off, uint64_t len) {
  uint64_t e = std::min<uint64_t>(off + len, f.size());
  if (off >= e) return;
  model_zero(f, off, e - off);
  uint64_t full1 = e >= f.size() ? up(e) : down(e);
  for (uint64_t b = up(off) / kB; b < full1 / kB; b++) f.alts.erase(b);  // unmapped
}

void model_zero_range(FileModel& f, uint64_t off, uint64_t len) {
  if (off + len > f.size()) f.data.resize(off + len, '\0');
  model_zero(f, off, len);
  for (uint64_t b = up(off) / kB; b < down(off + len) / kB; b++) f.alts.erase(b);  // preallocated
}

void model_allocate(FileModel& f, uint64_t off, uint64_t len) {
  if (off + len > f.size()) f.data.resize(off + len, '\0');
}

void model_insert(FileModel& f, uint64_t off, uint64_t len) {
  f.data.insert(off, len, '\0');
  shift_alts(f, off / kB, static_cast<int64_t>(len / kB));
}

void model_collapse(FileModel& f, uint64_t off, uint64_t len) {
  f.data.erase(off, len);
  f.alts.erase(f.alts.lower_bound(off / kB), f.alts.lower_bound((off + len) / kB));
  shift_alts(f, (off + len) / kB, -static_cast<int64_t>(len / kB));
}

void model_clone(const FileModel& src_in, uint64_t s_off, FileModel& dst, uint64_t d_off, uint64_t len) {
  FileModel src = src_in;  // src and dst may be the same file
  uint64_t new_size = std::max<uint64_t>(dst.size(), d_off + len);
  dst.data.resize(new_size, '\0');
  uint64_t sb = s_off / kB, db = d_off / kB;
  for (uint64_t k = 0; k * kB < len; k++) {
    std::string blk = src.block(sb + k);
    uint64_t at = (db + k) * kB;
    uint64_t n = std::min<uint64_t>(kB, new_size - at);
    dst.data.replace(at, n, blk, 0, n);
    auto it = src.alts.find(sb + k);
    if (it != src.alts.end()) dst.alts[db + k] = it->second;
    else dst.alts.erase(db + k);
  }
}

void model_fsync(FileModel& f) { f.alts.clear(); }

void loosen(std::vector<Model>& states, const std::map<std::string, BlockKinds>& kinds) {
  for (const auto& [path, k] : kinds) {
    for (uint64_t b = 0; b < k.size(); b++) {
      if (k[b] != BlockKind::kPrivate) continue;
      std::vector<std::string> seen;
      for (const Model& m : states) {
        auto it = m.files.find(path);
        if (it != m.files.end()) seen.push_back(it->second.block(b));
      }
      for (Model& m : states) {
        auto it = m.files.find(path);
        if (it == m.files.end()) continue;
        for (const std::string& c : seen)
          if (c != it->second.block(b)) it->second.add_alt(b, c);
      }
    }
  }
}

std::string file_mismatch(const FileModel& f, const std::string& got) {
  char buf[256];
  if (got.size() != f.size()) {
    snprintf(buf, sizeof buf, "size %zu, model says %llu", got.size(), static_cast<unsigned long long>(f.size()));
    return buf;
  }
  for (uint64_t b = 0; b * kB < got.size(); b++) {
    size_t n = std::min<uint64_t>(kB, got.size() - b * kB);
    std::string_view g(got.data() + b * kB, n);
    if (g == std::string_view(f.data).substr(b * kB, n)) continue;
    bool ok = false;
    auto it = f.alts.find(b);
    if (it != f.alts.end())
      for (const std::string& a : it->second) ok = ok || g == std::string_view(a).substr(0, n);
    if (ok) continue;
    size_t i = 0;
    while (i < n && g[i] == f.data[b * kB + i]) i++;
    snprintf(buf, sizeof buf, "block %llu: byte %llu is 0x%02x, model says 0x%02x (%zu alternatives)",
             static_cast<unsigned long long>(b), static_cast<unsigned long long>(b * kB + i),
             static_cast<unsigned char>(g[i]), static_cast<unsigned char>(f.data[b * kB + i]),
             it == f.alts.end() ? size_t{0} : it->second.size());
    return buf;
  }
  return "";
}

}  // namespace pnfsgw::store::crash
