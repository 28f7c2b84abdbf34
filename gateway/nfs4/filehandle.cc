#include "gateway/nfs4/filehandle.h"

// The SHA256_* calls below are deprecated in OpenSSL 3 in favour of EVP,
// whose context copy allocates; the plain struct copies for free.
#define OPENSSL_SUPPRESS_DEPRECATED
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <mutex>
#include <span>

namespace pnfsgw::nfs4 {
namespace {

void put_be(uint8_t* p, uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; i--) {
    p[i] = uint8_t(v);
    v >>= 8;
  }
}

uint64_t get_be(const uint8_t* p, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; i++) v = (v << 8) | p[i];
  return v;
}

Status write_key_file(const std::string& path, const std::array<uint8_t, 32>& key) {
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Status::error(errno);
  bool ok =
      ::write(fd, key.data(), key.size()) == static_cast<ssize_t>(key.size()) && ::fsync(fd) == 0;
  int err = errno;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    if (ok) err = errno;
    ::unlink(tmp.c_str());
    return Status::error(err ? err : EIO);
  }
  return Status::ok();
}

}  // namespace

Result<std::unique_ptr<FhCodec>> FhCodec::load_or_create(const std::string& key_path) {
  std::array<uint8_t, 32> key{};
  int fd = ::open(key_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    uint8_t buf[33];
    ssize_t n = ::read(fd, buf, sizeof buf);
    ::close(fd);
    if (n != 32) return Status::error(EINVAL);
    memcpy(key.data(), buf, 32);
    return std::make_unique<FhCodec>(key);
  }
  if (errno != ENOENT) return Status::error(errno);
  if (RAND_bytes(key.data(), key.size()) != 1) return Status::error(EIO);
  if (Status st = write_key_file(key_path, key); !st) return st;
  return std::make_unique<FhCodec>(key);
}

struct FhCodec::PadStates {
  SHA256_CTX inner, outer;
};

// Recently verified handles, byte for byte. A handle that matches one in
// full carries the same MAC, so it verifies without hashing. The slot is
// chosen by the handle's MAC bytes (uniform for real handles; a client that
// picks them only evicts entries). Compared in constant time like the MAC,
// so timing says nothing about a cached handle's bytes. Fixed size,
// direct-mapped; safe from any thread (striped locks).
class FhCodec::VerifiedCache {
 public:
  bool contains(std::span<const uint8_t> fh, uint64_t slot_key) {
    const size_t i = slot_key % kSlots;
    std::lock_guard lk(mu_[i % kStripes]);
    const Slot& s = slots_[i];
    return s.len == fh.size() && CRYPTO_memcmp(s.bytes, fh.data(), fh.size()) == 0;
  }
  void insert(std::span<const uint8_t> fh, uint64_t slot_key) {
    const size_t i = slot_key % kSlots;
    std::lock_guard lk(mu_[i % kStripes]);
    Slot& s = slots_[i];
    memcpy(s.bytes, fh.data(), fh.size());
    s.len = fh.size();
  }

 private:
  static constexpr size_t kSlots = 1024, kStripes = 64;
  struct Slot {
    size_t len = 0;  // 0: empty (no handle is that short)
    uint8_t bytes[FhCodec::kMaxSize];
  };
  std::mutex mu_[kStripes];
  Slot slots_[kSlots];
};

FhCodec::FhCodec(const std::array<uint8_t, 32>& key) {
  // HMAC-SHA256 (RFC 2104) with a key shorter than the block: the key,
  // zero-padded to 64 bytes, xor ipad (0x36) or opad (0x5c), is the first
  // block of the inner and outer hash. Hashing those once leaves two
  // compressions per handle instead of four.
  constexpr size_t kBlock = 64;
  static_assert(sizeof(key) <= kBlock);
  auto p = std::make_unique<PadStates>();
  uint8_t pad[kBlock] = {};
  memcpy(pad, key.data(), key.size());
  for (uint8_t& b : pad) b ^= 0x36;
  SHA256_Init(&p->inner);
  SHA256_Update(&p->inner, pad, kBlock);
  for (uint8_t& b : pad) b ^= 0x36 ^ 0x5c;
  SHA256_Init(&p->outer);
  SHA256_Update(&p->outer, pad, kBlock);
  OPENSSL_cleanse(pad, sizeof pad);
  pads_ = std::move(p);
  verified_ = std::make_unique<VerifiedCache>();
}

FhCodec::~FhCodec() {
  if (pads_) OPENSSL_cleanse(const_cast<PadStates*>(pads_.get()), sizeof(PadStates));
}

// HMAC-SHA256 truncated to kMacLen, from the states after the pads (the
// same bytes as HMAC()).
void FhCodec::mac(const uint8_t* data, size_t len, uint8_t out[kMacLen]) const {
  constexpr size_t kBlock = 64, kDigest = SHA256_DIGEST_LENGTH;
  // The last block of a message of `bytes` bytes whose first `len` are in
  // it: the rest of the message, 0x80, zeroes, the length in bits.
  auto final_block = [](uint8_t block[kBlock], const uint8_t* rest, size_t len, uint64_t bytes) {
    memcpy(block, rest, len);
    block[len] = 0x80;
    memset(block + len + 1, 0, kBlock - 8 - len - 1);
    put_be(block + kBlock - 8, bytes * 8, 8);
  };
  auto digest = [](const SHA256_CTX& c, uint8_t d[kDigest]) {
    for (int i = 0; i < 8; i++) put_be(d + 4 * i, c.h[i], 4);
  };
  uint8_t inner[kDigest], full[kDigest];
  SHA256_CTX c = pads_->inner;
  if (len <= kBlock - 9) {
    // Handles fit one block after the pad's: one compression each for the
    // inner and the outer hash, with no Update/Final bookkeeping.
    uint8_t block[kBlock];
    final_block(block, data, len, kBlock + len);
    SHA256_Transform(&c, block);
    digest(c, inner);
    c = pads_->outer;
    final_block(block, inner, kDigest, kBlock + kDigest);
    SHA256_Transform(&c, block);
    digest(c, full);
  } else {
    SHA256_Update(&c, data, len);
    SHA256_Final(inner, &c);
    c = pads_->outer;
    SHA256_Update(&c, inner, sizeof inner);
    SHA256_Final(full, &c);
  }
  memcpy(out, full, kMacLen);
}

Result<size_t> FhCodec::encode_to(uint32_t export_id, uint64_t ino,
                                  std::span<const uint8_t> layer_handle, uint8_t* out) const {
  if (layer_handle.size() > kMaxLayerHandle) return Status::error(EINVAL);
  out[0] = 1;
  out[1] = static_cast<uint8_t>(layer_handle.size());
  put_be(&out[2], export_id, 4);
  put_be(&out[6], ino, 8);
  if (!layer_handle.empty()) memcpy(&out[kHeader], layer_handle.data(), layer_handle.size());
  mac(out, kHeader + layer_handle.size(), &out[kHeader + layer_handle.size()]);
  return kHeader + layer_handle.size() + kMacLen;
}

Result<std::vector<uint8_t>> FhCodec::encode(uint32_t export_id, uint64_t ino,
                                             std::span<const uint8_t> layer_handle) const {
  uint8_t buf[kMaxSize];
  auto n = encode_to(export_id, ino, layer_handle, buf);
  if (!n) return n.status();
  return std::vector<uint8_t>(buf, buf + *n);
}

bool FhCodec::decode(std::span<const uint8_t> fh, Decoded* out) const {
  if (fh.size() < kHeader + kMacLen || fh[0] != 1) return false;
  size_t layer_len = fh[1];
  if (layer_len > kMaxLayerHandle || fh.size() != kHeader + layer_len + kMacLen) return false;
  const uint64_t slot_key = get_be(fh.data() + kHeader + layer_len, 8);
  if (!verified_->contains(fh, slot_key)) {
    uint8_t expect[kMacLen];
    mac(fh.data(), kHeader + layer_len, expect);
    if (CRYPTO_memcmp(expect, fh.data() + kHeader + layer_len, kMacLen) != 0) return false;
    verified_->insert(fh, slot_key);
  }
  out->export_id = static_cast<uint32_t>(get_be(&fh[2], 4));
  out->ino = get_be(&fh[6], 8);
  out->layer_handle = fh.subspan(kHeader, layer_len);
  return true;
}

}  // namespace pnfsgw::nfs4
