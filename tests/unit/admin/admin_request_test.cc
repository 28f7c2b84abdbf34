// Admin command parsing: sizes, export paths, every command's operands.
#include "gateway/admin/admin_request.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace pnfsgw::admin {
namespace {

uint64_t size_of(const std::string& s) {
  uint64_t v = 12345;
  EXPECT_TRUE(parse_size(s, &v)) << s;
  return v;
}

bool size_fails(const std::string& s) {
  uint64_t v = 12345;
  bool ok = parse_size(s, &v);
  EXPECT_EQ(v, 12345u) << "a failed parse must leave the output alone: " << s;
  return !ok;
}

TEST(AdminParseSize, DecimalNumbers) {
  EXPECT_EQ(size_of("0"), 0u);
  EXPECT_EQ(size_of("4096"), 4096u);
  EXPECT_EQ(size_of("007"), 7u);
  EXPECT_EQ(size_of("18446744073709551615"), UINT64_MAX);
}

TEST(AdminParseSize, BinarySuffixesInEitherCase) {
  EXPECT_EQ(size_of("4K"), 4096u);
  EXPECT_EQ(size_of("4k"), 4096u);
  EXPECT_EQ(size_of("3M"), 3u << 20);
  EXPECT_EQ(size_of("2g"), 2ull << 30);
  EXPECT_EQ(size_of("5T"), 5ull << 40);
  EXPECT_EQ(size_of("0K"), 0u);
  EXPECT_EQ(size_of("16777215T"), 16777215ull << 40);
}

TEST(AdminParseSize, RejectsAnythingElse) {
  for (const char* bad : {"", "K", "-1", "+1", " 1", "1 ", "1.5", "0x10", "1KB", "1KiB", "1P",
                          "12Q", "1e3", "4K4", "٣"}) {
    EXPECT_TRUE(size_fails(bad)) << "'" << bad << "'";
  }
}

TEST(AdminParseSize, RejectsOverflow) {
  EXPECT_TRUE(size_fails("18446744073709551616"));
  EXPECT_TRUE(size_fails("99999999999999999999999"));
  EXPECT_TRUE(size_fails("16777216T"));
  EXPECT_TRUE(size_fails("17179869184G"));
}

std::vector<std::string> split(const std::string& p) {
  std::vector<std::string> c;
  std::string err;
  EXPECT_TRUE(split_path(p, &c, &err)) << p << ": " << err;
  return c;
}

std::string split_error(const std::string& p) {
  std::vector<std::string> c;
  std::string err;
  EXPECT_FALSE(split_path(p, &c, &err)) << p;
  return err;
}

TEST(AdminSplitPath, AbsoluteAndRelativePathsNameTheSameFile) {
  EXPECT_EQ(split("/dir/file"), (std::vector<std::string>{"dir", "file"}));
  EXPECT_EQ(split("dir/file"), (std::vector<std::string>{"dir", "file"}));
  EXPECT_EQ(split("f"), (std::vector<std::string>{"f"}));
  EXPECT_EQ(split("/a b/c\nd"), (std::vector<std::string>{"a b", "c\nd"}));
}

TEST(AdminSplitPath, SlashAloneIsTheRoot) { EXPECT_TRUE(split("/").empty()); }

TEST(AdminSplitPath, RefusesEmptyComponentsDotAndDotDot) {
  EXPECT_EQ(split_error(""), "empty PATH");
  EXPECT_EQ(split_error("a//b"), "a//b: empty path component");
  EXPECT_EQ(split_error("a/"), "a/: empty path component");
  EXPECT_EQ(split_error("//"), "//: empty path component");
  EXPECT_EQ(split_error("/a/../b"), "/a/../b: '..' is not allowed in a path");
  EXPECT_EQ(split_error(".."), "..: '..' is not allowed in a path");
  EXPECT_EQ(split_error("./a"), "./a: '.' is not allowed in a path");
}

AdminRequest parse_ok(const std::vector<std::string>& words) {
  AdminRequest r;
  std::string err;
  EXPECT_TRUE(parse_request(words, &r, &err)) << err;
  return r;
}

std::string parse_error(const std::vector<std::string>& words) {
  AdminRequest r;
  std::string err;
  EXPECT_FALSE(parse_request(words, &r, &err));
  return err;
}

TEST(AdminParseRequest, EveryFallocateMode) {
  const std::pair<const char*, AdminOp> modes[] = {
      {"--allocate", AdminOp::kAllocate},        {"--punch-hole", AdminOp::kPunchHole},
      {"--zero-range", AdminOp::kZeroRange},     {"--collapse-range", AdminOp::kCollapseRange},
      {"--insert-range", AdminOp::kInsertRange}, {"--unshare", AdminOp::kUnshare},
  };
  for (const auto& [flag, op] : modes) {
    AdminRequest r = parse_ok({"fallocate", flag, "/d/f", "4K", "1M"});
    EXPECT_EQ(r.op, op) << flag;
    EXPECT_EQ(r.path, "/d/f");
    EXPECT_EQ(r.offset, 4096u);
    EXPECT_EQ(r.length, 1u << 20);
    EXPECT_TRUE(op_modifies(op));
    EXPECT_EQ(op_name(op), std::string("fallocate ") + flag);
  }
}

TEST(AdminParseRequest, FallocateErrorsNameWhatWasWrong) {
  EXPECT_EQ(parse_error({"fallocate"}).rfind("fallocate: needs a mode", 0), 0u);
  EXPECT_EQ(parse_error({"fallocate", "/f", "0", "1"}).rfind("fallocate: needs a mode", 0), 0u);
  EXPECT_EQ(parse_error({"fallocate", "--shrink", "/f", "0", "1"}),
            "fallocate: unknown mode '--shrink'");
  EXPECT_EQ(parse_error({"fallocate", "--punch-hole", "/f", "0"}),
            "fallocate --punch-hole: expected PATH OFFSET LENGTH");
  EXPECT_EQ(parse_error({"fallocate", "--punch-hole", "/f", "12Q", "1"}),
            "bad OFFSET '12Q' (a number with an optional K, M, G or T suffix)");
  EXPECT_EQ(parse_error({"fallocate", "--punch-hole", "/f", "1", "-4"}),
            "bad LENGTH '-4' (a number with an optional K, M, G or T suffix)");
  EXPECT_EQ(parse_error({"fallocate", "--punch-hole", "../f", "1", "4"}),
            "../f: '..' is not allowed in a path");
}

TEST(AdminParseRequest, TwoFileCommands) {
  for (const char* cmd : {"clone", "dedupe", "copy"}) {
    AdminRequest r = parse_ok({cmd, "a", "1K", "/b", "2K", "3K"});
    EXPECT_EQ(op_name(r.op), cmd);
    EXPECT_EQ(r.path, "a");
    EXPECT_EQ(r.offset, 1024u);
    EXPECT_EQ(r.dst_path, "/b");
    EXPECT_EQ(r.dst_offset, 2048u);
    EXPECT_EQ(r.length, 3072u);
    EXPECT_EQ(parse_error({cmd, "a", "0", "b", "0"}),
              std::string(cmd) + ": expected SRC SRC_OFFSET DST DST_OFFSET LENGTH");
  }
  EXPECT_EQ(parse_error({"copy", "a", "0", "b", "x", "1"}),
            "bad DST_OFFSET 'x' (a number with an optional K, M, G or T suffix)");
  EXPECT_EQ(parse_error({"clone", "a", "0", "b//c", "0", "1"}), "b//c: empty path component");
}

TEST(AdminParseRequest, SeekTakesDataOrHole) {
  AdminRequest r = parse_ok({"seek", "/f", "8K", "hole"});
  EXPECT_EQ(r.op, AdminOp::kSeek);
  EXPECT_EQ(r.offset, 8192u);
  EXPECT_EQ(r.what, backend::SeekWhat::kHole);
  EXPECT_EQ(parse_ok({"seek", "/f", "0", "data"}).what, backend::SeekWhat::kData);
  EXPECT_EQ(parse_error({"seek", "/f", "0", "DATA"}),
            "seek: expected 'data' or 'hole', got 'DATA'");
  EXPECT_EQ(parse_error({"seek", "/f", "0"}), "seek: expected PATH OFFSET data|hole");
  EXPECT_FALSE(op_modifies(AdminOp::kSeek));
}

TEST(AdminParseRequest, ExtentsCoversTheWholeFileUnlessARangeIsGiven) {
  AdminRequest r = parse_ok({"extents", "/f"});
  EXPECT_EQ(r.op, AdminOp::kExtents);
  EXPECT_EQ(r.offset, 0u);
  EXPECT_EQ(r.length, UINT64_MAX);
  r = parse_ok({"extents", "/f", "1M", "2M"});
  EXPECT_EQ(r.offset, 1u << 20);
  EXPECT_EQ(r.length, 2u << 20);
  EXPECT_EQ(parse_error({"extents", "/f", "1M"}), "extents: expected PATH [OFFSET LENGTH]");
}

TEST(AdminParseRequest, StatAndStatus) {
  EXPECT_EQ(parse_ok({"stat", "/"}).op, AdminOp::kStat);
  EXPECT_EQ(parse_ok({"status"}).op, AdminOp::kStatus);
  EXPECT_EQ(parse_error({"stat"}), "stat: expected PATH");
  EXPECT_EQ(parse_error({"status", "x"}), "status: expected no operands");
  EXPECT_FALSE(op_needs_regular_file(AdminOp::kStat));
}

TEST(AdminParseRequest, UnknownOrMissingCommand) {
  EXPECT_EQ(parse_error({"frobnicate", "x"}), "unknown command 'frobnicate'");
  EXPECT_EQ(parse_error({}), "no command given");
  EXPECT_EQ(parse_error({""}), "unknown command ''");
}

}  // namespace
}  // namespace pnfsgw::admin
