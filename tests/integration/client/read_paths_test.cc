// read_into() and read_in_place() against the real server: the same bytes
// as read(), short at EOF, errors as values.
#include <random>

#include "tests/integration/client/client_fixture.h"

namespace pnfsgw::client::test {
namespace {
using namespace nfs4;

// A file of kSize pseudo-random bytes, left open for reading.
class ReadPathsTest : public ClientTest {
 protected:
  static constexpr size_t kSize = (3u << 20) + 123;
  static constexpr uint32_t kChunk = 1u << 20;

  void SetUp() override {
    ClientTest::SetUp();
    if (HasFatalFailure()) return;
    data_.resize(kSize);
    std::mt19937_64 rng(99);
    for (auto& b : data_) b = static_cast<uint8_t>(rng());
    auto f = open_new(root_, "data");
    ASSERT_OK(f);
    file_ = *f;
    for (size_t off = 0; off < kSize; off += kChunk) {
      size_t n = std::min<size_t>(kChunk, kSize - off);
      auto w = client_->write(file_.fh, file_.stateid, off, std::span(data_).subspan(off, n));
      ASSERT_OK(w);
      ASSERT_EQ(w->count, n);
    }
  }

  std::vector<uint8_t> expected(uint64_t off, size_t n) const {
    if (off >= kSize) return {};
    n = std::min<size_t>(n, kSize - off);
    return std::vector<uint8_t>(data_.begin() + off, data_.begin() + off + n);
  }

  std::vector<uint8_t> data_;
  OpenResult file_;
};

TEST_F(ReadPathsTest, ReadIntoGivesTheSameBytesAsRead) {
  std::vector<uint8_t> buf(kChunk);
  for (uint64_t off : {uint64_t{0}, uint64_t{4095}, uint64_t{kChunk}, uint64_t{2 * kChunk + 1}}) {
    auto copy = client_->read(file_.fh, file_.stateid, off, kChunk);
    ASSERT_OK(copy);
    auto into = client_->read_into(file_.fh, file_.stateid, off, buf);
    ASSERT_OK(into);
    ASSERT_EQ(into->count, copy->data.size()) << "at " << off;
    EXPECT_EQ(into->eof, copy->eof);
    EXPECT_TRUE(std::equal(copy->data.begin(), copy->data.end(), buf.begin())) << "at " << off;
    EXPECT_EQ(copy->data, expected(off, kChunk));
  }
}

TEST_F(ReadPathsTest, ReadIntoIsShortAtEofAndLeavesTheRestOfTheBuffer) {
  std::vector<uint8_t> buf(kChunk, 0xab);
  auto r = client_->read_into(file_.fh, file_.stateid, kSize - 100, buf);
  ASSERT_OK(r);
  EXPECT_EQ(r->count, 100u);
  EXPECT_TRUE(r->eof);
  EXPECT_TRUE(std::equal(buf.begin(), buf.begin() + 100, data_.end() - 100));
  EXPECT_TRUE(std::all_of(buf.begin() + 100, buf.end(), [](uint8_t b) { return b == 0xab; }));

  r = client_->read_into(file_.fh, file_.stateid, kSize, buf);
  ASSERT_OK(r);
  EXPECT_EQ(r->count, 0u);
  EXPECT_TRUE(r->eof);

  r = client_->read_into(file_.fh, file_.stateid, 0, std::span<uint8_t>());
  ASSERT_OK(r);
  EXPECT_EQ(r->count, 0u);
}

TEST_F(ReadPathsTest, ReadInPlaceWalksTheFileWithOneReusedBuffer) {
  ReadBuffer rb;
  std::vector<uint8_t> got;
  bool eof = false;
  while (!eof) {
    ASSERT_OK(client_->read_in_place(file_.fh, file_.stateid, got.size(), kChunk, &rb));
    ASSERT_TRUE(!rb.data().empty() || rb.eof()) << "empty read before EOF at " << got.size();
    got.insert(got.end(), rb.data().begin(), rb.data().end());
    eof = rb.eof();
  }
  EXPECT_EQ(got.size(), kSize);
  EXPECT_TRUE(got == data_);
}

TEST_F(ReadPathsTest, ReadInPlaceDataSurvivesMovingTheBuffer) {
  ReadBuffer rb;
  ASSERT_OK(client_->read_in_place(file_.fh, file_.stateid, kChunk, kChunk, &rb));
  ReadBuffer moved = std::move(rb);
  EXPECT_EQ(std::vector<uint8_t>(moved.data().begin(), moved.data().end()),
            expected(kChunk, kChunk));
  EXPECT_FALSE(moved.eof());
}

TEST_F(ReadPathsTest, ReadErrorsAreTheSameOnEveryPathAndEmptyTheReadBuffer) {
  // READ of a directory fails; each path reports the server's status.
  auto copy = client_->read(root_, Stateid::anonymous(), 0, 100);
  ASSERT_FALSE(copy);
  std::vector<uint8_t> buf(100);
  EXPECT_NFS_ERR(client_->read_into(root_, Stateid::anonymous(), 0, buf), copy.err());

  ReadBuffer rb;
  ASSERT_OK(client_->read_in_place(file_.fh, file_.stateid, 0, 100, &rb));
  ASSERT_EQ(rb.data().size(), 100u);
  Status st = client_->read_in_place(root_, Stateid::anonymous(), 0, 100, &rb);
  EXPECT_EQ(st.err(), copy.err());
  EXPECT_TRUE(rb.data().empty());
  EXPECT_FALSE(rb.eof());
}

}  // namespace
}  // namespace pnfsgw::client::test
