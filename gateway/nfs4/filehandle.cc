#include "gateway/nfs4/filehandle.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

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

// HMAC-SHA256 (RFC 2104) over a per-thread digest context and a digest
// fetched once. Every call checks a handle, and the one-shot HMAC() fetched
// the algorithm and allocated its contexts each time, costing several times
// the hashing of a 60-byte handle. Same bytes as HMAC() (key < block size).
void FhCodec::mac(const uint8_t* data, size_t len, uint8_t out[kMacLen]) const {
  static EVP_MD* const sha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  thread_local std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(),
                                                                           &EVP_MD_CTX_free);
  constexpr size_t kBlock = 64;
  static_assert(sizeof(key_) <= kBlock);
  uint8_t pad[kBlock] = {};
  memcpy(pad, key_.data(), key_.size());
  for (uint8_t& b : pad) b ^= 0x36;
  uint8_t inner[EVP_MAX_MD_SIZE], full[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_MD_CTX* c = ctx.get();
  bool ok = sha256 && c && EVP_DigestInit_ex(c, sha256, nullptr) &&
            EVP_DigestUpdate(c, pad, kBlock) && EVP_DigestUpdate(c, data, len) &&
            EVP_DigestFinal_ex(c, inner, &n);
  for (uint8_t& b : pad) b ^= 0x36 ^ 0x5c;
  ok = ok && EVP_DigestInit_ex(c, sha256, nullptr) && EVP_DigestUpdate(c, pad, kBlock) &&
       EVP_DigestUpdate(c, inner, n) && EVP_DigestFinal_ex(c, full, &n);
  OPENSSL_cleanse(pad, sizeof pad);
  if (!ok) HMAC(EVP_sha256(), key_.data(), key_.size(), data, len, full, &n);
  memcpy(out, full, kMacLen);
}

Result<std::vector<uint8_t>> FhCodec::encode(uint32_t export_id, uint64_t ino,
                                             std::span<const uint8_t> layer_handle) const {
  if (layer_handle.size() > kMaxLayerHandle) return Status::error(EINVAL);
  std::vector<uint8_t> fh(kHeader + layer_handle.size() + kMacLen);
  fh[0] = 1;
  fh[1] = static_cast<uint8_t>(layer_handle.size());
  put_be(&fh[2], export_id, 4);
  put_be(&fh[6], ino, 8);
  if (!layer_handle.empty()) memcpy(&fh[kHeader], layer_handle.data(), layer_handle.size());
  mac(fh.data(), kHeader + layer_handle.size(), &fh[kHeader + layer_handle.size()]);
  return fh;
}

bool FhCodec::decode(std::span<const uint8_t> fh, Decoded* out) const {
  if (fh.size() < kHeader + kMacLen || fh[0] != 1) return false;
  size_t layer_len = fh[1];
  if (layer_len > kMaxLayerHandle || fh.size() != kHeader + layer_len + kMacLen) return false;
  uint8_t expect[kMacLen];
  mac(fh.data(), kHeader + layer_len, expect);
  if (CRYPTO_memcmp(expect, fh.data() + kHeader + layer_len, kMacLen) != 0) return false;
  out->export_id = static_cast<uint32_t>(get_be(&fh[2], 4));
  out->ino = get_be(&fh[6], 8);
  out->layer_handle = fh.subspan(kHeader, layer_len);
  return true;
}

}  // namespace pnfsgw::nfs4
