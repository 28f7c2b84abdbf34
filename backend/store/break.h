// The break interface: how the extent store asks for pNFS layouts to be
// recalled before it changes an extent map (DESIGN.md "Break semantics").
//
// backend/ knows nothing of clients. Before any change of a file's extent map
// the store calls ExtentBreaker::break_range() over the bytes whose mapping
// changes and gets a BreakToken. Every mutating call of the store takes
// `const BreakToken&` and checks token.covers(...) for what it is about to
// change, so a change without a break does not compile, and a break of the
// wrong range or kind fails loudly. While a token lives, no conflicting layout
// is granted on its range (LAYOUTGET answers NFS4ERR_RECALLCONFLICT); its
// destruction ends the break.
//
// Which kind each future store operation asks for (the DESIGN table):
//   kWrite: write through the server, allocate / fallocate mode 0,
//           extending setattr size.
//   kUnmap: truncate down, punch hole, zero range, collapse range and insert
//           range (range runs to EOF: every later extent shifts), unshare,
//           clone destination, dedupe, CoW of a shared extent, copy-up,
//           media-error remap. Clone also breaks kWrite on the source range
//           (its blocks become shared); LAYOUTGET for READ_WRITE over shared
//           blocks unshares first (kUnmap).
//
// Blocks that a broken change frees or moves are not freed directly: the
// store hands them to release_quarantine(), and they come back through the
// callback once every layout that covered them is returned or its holder is
// fenced, and every pin is dropped.
//
// break_range() is synchronous here. The recall engine in layouts/ will wait
// for clients without blocking a thread: this call then becomes an awaitable
// (declared outside this header, to keep Asio out of backend headers).
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <utility>
#include <vector>

#include "backend/store/phys_range.h"

namespace pnfsgw::store {

enum class BreakKind { kWrite, kUnmap };

class ExtentBreaker;

// Proof that layouts conflicting with [off, off+len) of `file` are recalled
// (and, for kUnmap, that no pin holds its blocks). Move-only; obtained only
// from an ExtentBreaker. Must not outlive its breaker.
class BreakToken {
 public:
  BreakToken(const BreakToken&) = delete;
  BreakToken& operator=(const BreakToken&) = delete;
  BreakToken(BreakToken&& o) noexcept { *this = std::move(o); }
  BreakToken& operator=(BreakToken&& o) noexcept;
  ~BreakToken();

  uint64_t file() const { return file_; }
  uint64_t off() const { return off_; }
  uint64_t len() const { return len_; }  // UINT64_MAX - off: to EOF and beyond
  BreakKind kind() const { return kind_; }
  bool valid() const { return breaker_ != nullptr; }

  // True if this token allows a change of kind `kind` to [off, off+len) of
  // `file`. kUnmap is stronger than kWrite.
  bool covers(uint64_t file, uint64_t off, uint64_t len, BreakKind kind) const {
    return valid() && file == file_ && off >= off_ && len <= len_ && off - off_ <= len_ - len &&
           (kind == BreakKind::kWrite || kind_ == BreakKind::kUnmap);
  }

 private:
  friend class ExtentBreaker;
  BreakToken(ExtentBreaker* breaker, uint64_t file, uint64_t off, uint64_t len, BreakKind kind)
      : breaker_(breaker), file_(file), off_(off), len_(len), kind_(kind) {}

  ExtentBreaker* breaker_ = nullptr;  // null once moved from
  uint64_t file_ = 0;
  uint64_t off_ = 0;
  uint64_t len_ = 0;
  BreakKind kind_ = BreakKind::kWrite;
};

// Implemented by layouts/ (the recall engine); NullBreaker below when no
// layouts exist. Thread-safety is the implementation's to state.
class ExtentBreaker {
 public:
  using ReleaseFn = std::function<void(std::vector<PhysRange>)>;

  virtual ~ExtentBreaker() = default;

  // Recalls conflicting layouts on [off, off+len) of `file` (len may run to
  // EOF: pass UINT64_MAX - off), waits for their return or revokes and fences
  // the holder, and for kUnmap waits until no pin holds the range's blocks.
  // Then returns a token; no conflicting layout is granted until it dies.
  virtual BreakToken break_range(uint64_t file, uint64_t off, uint64_t len, BreakKind kind) = 0;

  // True when break_range() never recalls anything and returns at once (no
  // layouts can exist): asking for a break that turns out unneeded then
  // costs nothing, so callers need not check first whether they need one.
  virtual bool grants_at_once() const { return false; }

  // Takes blocks that the change under `token` displaced into quarantine and
  // calls release(blocks) once no layout or pin can still reach them; only
  // then may the store free (or decref) them. May call release before
  // returning.
  virtual void release_quarantine(const BreakToken& token, std::vector<PhysRange> blocks,
                                  ReleaseFn release) = 0;

 protected:
  // For implementations: the only way to make a token.
  BreakToken make_token(uint64_t file, uint64_t off, uint64_t len, BreakKind kind) {
    return BreakToken(this, file, off, len, kind);
  }
  // Called once when a token from make_token() is destroyed: its break ends.
  virtual void end_break(const BreakToken& token) = 0;

 private:
  friend class BreakToken;
};

inline BreakToken& BreakToken::operator=(BreakToken&& o) noexcept {
  if (this != &o) {
    if (breaker_ != nullptr) breaker_->end_break(*this);
    breaker_ = std::exchange(o.breaker_, nullptr);
    file_ = o.file_;
    off_ = o.off_;
    len_ = o.len_;
    kind_ = o.kind_;
  }
  return *this;
}

inline BreakToken::~BreakToken() {
  if (breaker_ != nullptr) breaker_->end_break(*this);
}

// No layouts exist: every break is granted at once and quarantined blocks are
// released at once. Counts what it saw, for tests. Safe from any thread.
class NullBreaker final : public ExtentBreaker {
 public:
  BreakToken break_range(uint64_t file, uint64_t off, uint64_t len, BreakKind kind) override {
    ++breaks_;
    ++active_;
    return make_token(file, off, len, kind);
  }
  bool grants_at_once() const override { return true; }
  void release_quarantine(const BreakToken& token, std::vector<PhysRange> blocks,
                          ReleaseFn release) override {
    release(std::move(blocks));
  }
  int breaks() const { return breaks_; }
  int active() const { return active_; }  // tokens alive

 protected:
  void end_break(const BreakToken&) override { --active_; }

 private:
  std::atomic<int> breaks_{0};
  std::atomic<int> active_{0};
};

}  // namespace pnfsgw::store
