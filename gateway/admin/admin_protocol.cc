// Admin socket framing and payloads (see admin_protocol.h).
#include "gateway/admin/admin_protocol.h"

#include <cstring>

namespace pnfsgw::admin {

void append_frame(std::string_view payload, std::string* out) {
  const auto n = static_cast<uint32_t>(payload.size());
  const char len[4] = {static_cast<char>(n >> 24), static_cast<char>(n >> 16),
                       static_cast<char>(n >> 8), static_cast<char>(n)};
  out->append(len, 4);
  out->append(payload);
}

FrameStatus take_frame(std::string* buf, size_t max, std::string* payload) {
  if (buf->size() < 4) return FrameStatus::kNeedMore;
  const auto* p = reinterpret_cast<const uint8_t*>(buf->data());
  const uint64_t n = (uint64_t{p[0]} << 24) | (uint64_t{p[1]} << 16) | (uint64_t{p[2]} << 8) | p[3];
  if (n > max) return FrameStatus::kTooBig;
  if (buf->size() - 4 < n) return FrameStatus::kNeedMore;
  payload->assign(*buf, 4, n);
  buf->erase(0, 4 + n);
  return FrameStatus::kFrame;
}

std::string encode_request(const std::vector<std::string>& words) {
  std::string out(kProtocolMagic, sizeof(kProtocolMagic));  // includes the '\0'
  for (const auto& w : words) {
    out += w;
    out += '\0';
  }
  return out;
}

bool decode_request(std::string_view payload, std::vector<std::string>* words, std::string* error) {
  words->clear();
  const std::string_view magic(kProtocolMagic, sizeof(kProtocolMagic));
  if (payload.substr(0, magic.size()) != magic) {
    *error = std::string("not an admin request (expected ") + kProtocolMagic + ")";
    return false;
  }
  payload.remove_prefix(magic.size());
  if (!payload.empty() && payload.back() != '\0') {
    *error = "malformed request: the last word is not terminated";
    return false;
  }
  while (!payload.empty()) {
    if (words->size() == kMaxWords) {
      *error = "malformed request: more than " + std::to_string(kMaxWords) + " words";
      return false;
    }
    const size_t end = payload.find('\0');
    words->emplace_back(payload.substr(0, end));
    payload.remove_prefix(end + 1);
  }
  return true;
}

std::string encode_reply(const AdminReply& reply) {
  std::string out =
      reply.err == 0 ? std::string("OK\n") : "ERR " + std::to_string(reply.err) + "\n";
  out += reply.text;
  return out;
}

bool decode_reply(std::string_view payload, AdminReply* reply) {
  const size_t nl = payload.find('\n');
  if (nl == std::string_view::npos) return false;
  const std::string_view status = payload.substr(0, nl);
  reply->text.assign(payload.substr(nl + 1));
  if (status == "OK") {
    reply->err = 0;
    return true;
  }
  if (status.substr(0, 4) != "ERR " || status.size() < 5 || status.size() > 4 + 9) return false;
  int err = 0;
  for (char c : status.substr(4)) {
    if (c < '0' || c > '9') return false;
    err = err * 10 + (c - '0');
  }
  if (err == 0) return false;
  reply->err = err;
  return true;
}

}  // namespace pnfsgw::admin
