// The admin socket's wire format (docs/admin.md, "Admin socket protocol").
//
// Every message is a frame: a 4-byte big-endian payload length, then the
// payload. One request frame, one reply frame, in order; a connection may
// carry several.
//
//   request payload: "PNFSGW-ADMIN/1\0" then each command word followed by
//                    "\0" (words are the command line: "fallocate\0
//                    --punch-hole\0/f\04K\08K\0"). At most kMaxRequest bytes.
//   reply payload:   "OK\n" then the command's output, or
//                    "ERR <errno>\n" then a one-line message. At most
//                    kMaxReply bytes.
//
// Codecs only: nothing here touches a socket. Safe from any thread.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace pnfsgw::admin {

inline constexpr char kProtocolMagic[] = "PNFSGW-ADMIN/1";
inline constexpr size_t kMaxRequest = 64 * 1024;
inline constexpr size_t kMaxReply = 16 * 1024 * 1024;
inline constexpr size_t kMaxWords = 16;

struct AdminReply {
  int err = 0;       // 0: success
  std::string text;  // the output on success, else the error message
};

// Appends a frame holding payload to out.
void append_frame(std::string_view payload, std::string* out);

enum class FrameStatus : uint8_t {
  kNeedMore,  // buf holds less than one whole frame
  kFrame,     // *payload holds the first frame; it was removed from buf
  kTooBig,    // the frame announced is longer than max: give up on the stream
};
// Takes the first complete frame off the front of buf. Decides kTooBig from
// the length prefix alone, before the payload arrives.
FrameStatus take_frame(std::string* buf, size_t max, std::string* payload);

// The request payload for words (none may contain '\0').
std::string encode_request(const std::vector<std::string>& words);
// Splits a request payload into its words; false with *error when the magic
// is wrong, the payload does not end in '\0', or it has more than kMaxWords.
bool decode_request(std::string_view payload, std::vector<std::string>* words, std::string* error);

std::string encode_reply(const AdminReply& reply);
// False if payload is not "OK\n..." or "ERR <positive number>\n...".
bool decode_reply(std::string_view payload, AdminReply* reply);

}  // namespace pnfsgw::admin
