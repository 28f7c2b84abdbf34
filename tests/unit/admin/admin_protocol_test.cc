// Admin socket framing and payload codecs, at every split point.
#include "gateway/admin/admin_protocol.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace pnfsgw::admin {
namespace {

TEST(AdminFrame, RoundTripsAtEverySplitPoint) {
  const std::vector<std::string> words = {"fallocate", "--punch-hole", "/a b/c", "4K", "8K"};
  std::string wire;
  append_frame(encode_request(words), &wire);
  append_frame(encode_request({"status"}), &wire);
  for (size_t split = 0; split <= wire.size(); ++split) {
    std::string buf = wire.substr(0, split);
    std::string payload;
    std::vector<std::vector<std::string>> got;
    auto drain = [&] {
      while (take_frame(&buf, kMaxRequest, &payload) == FrameStatus::kFrame) {
        std::vector<std::string> w;
        std::string err;
        ASSERT_TRUE(decode_request(payload, &w, &err)) << err;
        got.push_back(w);
      }
    };
    drain();
    buf += wire.substr(split);
    drain();
    ASSERT_EQ(got.size(), 2u) << "split at " << split;
    EXPECT_EQ(got[0], words);
    EXPECT_EQ(got[1], std::vector<std::string>{"status"});
    EXPECT_TRUE(buf.empty());
  }
}

TEST(AdminFrame, AnOversizedFrameIsRefusedFromItsLengthAlone) {
  std::string buf("\x00\x01\x00\x01", 4);  // 64 KiB + 1
  std::string payload;
  EXPECT_EQ(take_frame(&buf, kMaxRequest, &payload), FrameStatus::kTooBig);
  buf.assign("\xff\xff\xff\xff", 4);
  EXPECT_EQ(take_frame(&buf, kMaxRequest, &payload), FrameStatus::kTooBig);
  buf.assign("\x00\x01\x00\x00", 4);  // exactly 64 KiB: fine, wait for it
  EXPECT_EQ(take_frame(&buf, kMaxRequest, &payload), FrameStatus::kNeedMore);
}

TEST(AdminFrame, AnEmptyFrameIsAFrame) {
  std::string buf("\0\0\0\0", 4);
  std::string payload = "x";
  EXPECT_EQ(take_frame(&buf, kMaxRequest, &payload), FrameStatus::kFrame);
  EXPECT_TRUE(payload.empty());
}

TEST(AdminRequestCodec, RefusesAWrongMagicAnUnterminatedWordAndTooManyWords) {
  std::vector<std::string> w;
  std::string err;
  EXPECT_FALSE(decode_request("", &w, &err));
  EXPECT_FALSE(decode_request(std::string("PNFSGW-ADMIN/2\0status\0", 22), &w, &err));
  EXPECT_FALSE(decode_request("GET / HTTP/1.0\r\n\r\n", &w, &err));
  std::string unterminated = encode_request({"status"});
  unterminated.pop_back();
  EXPECT_FALSE(decode_request(unterminated, &w, &err));
  EXPECT_EQ(err, "malformed request: the last word is not terminated");
  std::vector<std::string> many(kMaxWords + 1, "x");
  EXPECT_FALSE(decode_request(encode_request(many), &w, &err));
  many.pop_back();
  EXPECT_TRUE(decode_request(encode_request(many), &w, &err));
  EXPECT_EQ(w.size(), kMaxWords);
}

TEST(AdminRequestCodec, NoWordsAndEmptyWordsSurvive) {
  std::vector<std::string> w = {"junk"};
  std::string err;
  ASSERT_TRUE(decode_request(encode_request({}), &w, &err));
  EXPECT_TRUE(w.empty());
  ASSERT_TRUE(decode_request(encode_request({"", "a", ""}), &w, &err));
  EXPECT_EQ(w, (std::vector<std::string>{"", "a", ""}));
}

TEST(AdminReplyCodec, OkAndErrorRoundTrip) {
  AdminReply r;
  ASSERT_TRUE(decode_reply(encode_reply({0, "line 1\nline 2\n"}), &r));
  EXPECT_EQ(r.err, 0);
  EXPECT_EQ(r.text, "line 1\nline 2\n");
  ASSERT_TRUE(decode_reply(encode_reply({ENOENT, "/f: No such file or directory"}), &r));
  EXPECT_EQ(r.err, ENOENT);
  EXPECT_EQ(r.text, "/f: No such file or directory");
}

TEST(AdminReplyCodec, RefusesMalformedReplies) {
  AdminReply r;
  for (const char* bad :
       {"", "OK", "ERR\n", "ERR 0\n", "ERR x\n", "ERR -1\n", "ERR 1234567890\n", "YES\n"}) {
    EXPECT_FALSE(decode_reply(bad, &r)) << bad;
  }
}

}  // namespace
}  // namespace pnfsgw::admin
