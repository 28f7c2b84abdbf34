// NFSv4 filehandles that survive a server restart and cannot be forged.
//
// Wire format (at most NFS4_FHSIZE = 128 bytes):
//   u8  version (1)
//   u8  layer handle length L (<= kMaxLayerHandle)
//   u32 export id            (big-endian)
//   u64 inode id             (big-endian; the NFS fileid)
//   L   layer handle bytes   (Filesystem::encode_handle: for HostDirFs the
//                             kernel's file handle, which carries the inode
//                             generation, so a reused inode number is stale)
//   16  HMAC-SHA256 over everything before it, truncated to 128 bits
// The HMAC key is 32 random bytes kept in a file in the data directory.
// Immutable after construction; safe from any thread.
#pragma once
#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/result.h"

namespace pnfsgw::nfs4 {

class FhCodec {
 public:
  static constexpr size_t kHeader = 14;
  static constexpr size_t kMacLen = 16;
  static constexpr size_t kMaxLayerHandle = 128 - kHeader - kMacLen;

  static constexpr size_t kMaxSize = kHeader + kMaxLayerHandle + kMacLen;  // NFS4_FHSIZE

  explicit FhCodec(const std::array<uint8_t, 32>& key);
  ~FhCodec();
  // Reads the key from key_path, or creates it (0600, written atomically)
  // when the file does not exist. A key file of the wrong size is an error
  // (EINVAL): silently replacing it would make every handle stale.
  static Result<std::unique_ptr<FhCodec>> load_or_create(const std::string& key_path);

  struct Decoded {
    uint32_t export_id = 0;
    uint64_t ino = 0;
    std::span<const uint8_t> layer_handle;  // points into the decoded fh
  };

  // EINVAL if the layer handle is too long.
  Result<std::vector<uint8_t>> encode(uint32_t export_id, uint64_t ino,
                                      std::span<const uint8_t> layer_handle) const;
  // The same bytes written to out (room for kMaxSize); returns their count.
  // For callers making many handles (READDIR), without an allocation each.
  Result<size_t> encode_to(uint32_t export_id, uint64_t ino, std::span<const uint8_t> layer_handle,
                           uint8_t* out) const;
  // False for anything malformed or with a MAC that doesn't verify.
  bool decode(std::span<const uint8_t> fh, Decoded* out) const;

 private:
  void mac(const uint8_t* data, size_t len, uint8_t out[kMacLen]) const;
  // SHA-256 states after hashing the key's inner and outer HMAC pads, made
  // once (OpenSSL types stay out of this header).
  struct PadStates;
  std::unique_ptr<const PadStates> pads_;
  // Handles whose MAC verified, so that a client's every call on a file
  // does not pay two SHA-256 compressions again (filehandle.cc).
  class VerifiedCache;
  std::unique_ptr<VerifiedCache> verified_;
};

}  // namespace pnfsgw::nfs4
