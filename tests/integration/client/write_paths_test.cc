// WRITE against the real server: the data goes from the caller's buffer to
// the socket in its own piece (write_borrowed), with the XDR padding and any
// ops after it in a separate one; the file must hold exactly those bytes.
#include <random>

#include "tests/integration/client/client_fixture.h"

namespace pnfsgw::client::test {
namespace {
using namespace nfs4;

// An open file and a model of what it should hold.
class WritePathsTest : public ClientTest {
 protected:
  void SetUp() override {
    ClientTest::SetUp();
    if (HasFatalFailure()) return;
    auto f = open_new(root_, "w");
    ASSERT_OK(f);
    file_ = *f;
  }

  std::vector<uint8_t> random_bytes(size_t n, uint64_t seed) {
    std::vector<uint8_t> v(n);
    std::mt19937_64 rng(seed);
    for (auto& b : v) b = static_cast<uint8_t>(rng());
    return v;
  }

  // Writes data at off through Nfs4Client::write and records it in model_.
  void write_at(uint64_t off, const std::vector<uint8_t>& data) {
    auto w = client_->write(file_.fh, file_.stateid, off, data, UNSTABLE4);
    ASSERT_OK(w);
    ASSERT_EQ(w->count, data.size()) << "at " << off;
    if (model_.size() < off + data.size()) model_.resize(off + data.size());
    std::copy(data.begin(), data.end(), model_.begin() + static_cast<ptrdiff_t>(off));
  }

  // The whole file, read back in 1 MiB READs, equals the model.
  void expect_file_is_model() {
    auto attrs = client_->getattr(file_.fh);
    ASSERT_OK(attrs);
    EXPECT_EQ(attrs->size, model_.size());
    std::vector<uint8_t> got;
    while (got.size() < model_.size()) {
      auto r = client_->read(file_.fh, file_.stateid, got.size(), 1u << 20);
      ASSERT_OK(r);
      ASSERT_FALSE(r->data.empty()) << "short file at " << got.size();
      got.insert(got.end(), r->data.begin(), r->data.end());
    }
    ASSERT_EQ(got.size(), model_.size());
    for (size_t i = 0; i < got.size(); i++) {
      ASSERT_EQ(got[i], model_[i]) << "first wrong byte at " << i;
    }
  }

  OpenResult file_;
  std::vector<uint8_t> model_;
};

TEST_F(WritePathsTest, OddLengthsNeedingXdrPaddingLandExactlyTheirBytes) {
  uint64_t off = 0;
  uint64_t seed = 1;
  for (size_t n : {1, 2, 3, 4, 5, 6, 7, 13, 4093, 4097, 65537}) {
    write_at(off, random_bytes(n, seed++));
    off += n + (seed % 3);  // small holes between some of them
  }
  write_at(2, random_bytes(3, seed++));  // over earlier data, unaligned
  expect_file_is_model();
}

TEST_F(WritePathsTest, LargeWritesLandTheirBytesAtAlignedAndUnalignedOffsets) {
  constexpr size_t kMiB = 1u << 20;
  write_at(0, random_bytes(kMiB, 11));
  write_at(kMiB + 1, random_bytes(kMiB - 1, 12));
  write_at(3 * kMiB - 5, random_bytes(kMiB - 3, 13));
  write_at(kMiB / 2 + 3, random_bytes(kMiB, 14));  // across two earlier ones
  expect_file_is_model();
}

// The ops after a borrowed WRITE follow its padding: the server must parse
// them where they are, or the GETATTR would fail or see another size.
TEST_F(WritePathsTest, OpsAfterABorrowedWriteOfOddLengthAreParsedAfterItsPadding) {
  for (size_t n : {1, 2, 3, 5, 1021}) {
    auto data = random_bytes(n, n);
    uint64_t off = model_.size();
    CompoundBuilder b;
    b.putfh(file_.fh)
        .write_borrowed(file_.stateid, off, UNSTABLE4, data)
        .getattr(Bitmap4{FATTR4_SIZE});
    auto r = client_->compound(b);
    ASSERT_OK(r);
    ASSERT_OK(r->ok_status());
    auto w = r->get<WriteRes>(2);
    ASSERT_OK(w);
    EXPECT_EQ(w->count, n);
    auto attrs = r->get<GetattrRes>(3);
    ASSERT_OK(attrs);
    EXPECT_EQ(attrs->attrs.size, off + n);
    model_.insert(model_.end(), data.begin(), data.end());
  }
  expect_file_is_model();
}

}  // namespace
}  // namespace pnfsgw::client::test
