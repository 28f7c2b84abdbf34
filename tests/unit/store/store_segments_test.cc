// StoreFs::read_segments: where a READ's bytes are on the device file, for
// sending with sendfile(2), and the lease that keeps them from reuse.
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "backend/device/file_device.h"
#include "tests/unit/store/store_fixture.h"

namespace pnfsgw::store::test {
namespace {

using backend::SegmentedRead;

// A StoreFs on a FileDevice (a temp file): read_segments needs a descriptor.
class SegmentsTest : public StoreFsTest<backend::device::FileDevice> {
 protected:
  static constexpr uint64_t kB = 4096;

  std::unique_ptr<backend::device::FileDevice> make_device() override {
    auto d = backend::device::open_file_device(dir_.path() + "/dev", kDevSize);
    EXPECT_TRUE(d) << strerror(d.err());
    return d ? std::move(d).value() : nullptr;
  }

  // The bytes the segments stand for, read as sendfile would.
  static std::string bytes_of(const SegmentedRead& s) {
    std::string out;
    for (const backend::ReadSegment& seg : s.segments) {
      if (seg.fd < 0) {
        out.append(seg.length, '\0');
        continue;
      }
      std::string b(seg.length, '\0');
      EXPECT_EQ(pread(seg.fd, b.data(), b.size(), static_cast<off_t>(seg.offset)),
                static_cast<ssize_t>(b.size()));
      out += b;
    }
    return out;
  }
};

TEST_F(SegmentsTest, WrittenDataIsOneSegmentOnTheDeviceFd) {
  InodeId f = mkfile("f");
  std::string data = pattern(3 * kB, 'a');
  put(f, 0, data);
  auto s = fs_->read_segments(f, 0, 1 << 20);
  ASSERT_TRUE(s) << strerror(s.err());
  EXPECT_EQ(s->count, data.size());
  EXPECT_TRUE(s->eof);
  ASSERT_EQ(s->segments.size(), 1u);
  EXPECT_EQ(s->segments[0].fd, dev_->fd());
  EXPECT_EQ(bytes_of(*s), data);
}

TEST_F(SegmentsTest, HolesAndUnwrittenBlocksAreZeroSegments) {
  InodeId f = mkfile("f");
  put(f, 0, pattern(kB, 'a'));                    // block 0: data
  ASSERT_TRUE(fs_->allocate(f, 2 * kB, 2 * kB));  // blocks 2-3: unwritten
  put(f, 4 * kB, pattern(kB, 'b'));               // block 4: data; block 1 a hole
  auto s = fs_->read_segments(f, 0, 5 * kB);
  ASSERT_TRUE(s) << strerror(s.err());
  EXPECT_EQ(s->count, 5 * kB);
  ASSERT_EQ(s->segments.size(), 3u);
  EXPECT_GE(s->segments[0].fd, 0);
  EXPECT_EQ(s->segments[1].fd, -1);  // the hole and the unwritten blocks, merged
  EXPECT_EQ(s->segments[1].length, 3 * kB);
  EXPECT_GE(s->segments[2].fd, 0);
  EXPECT_EQ(bytes_of(*s), get(f, 0, 5 * kB));
}

TEST_F(SegmentsTest, UnalignedRangesMatchRead) {
  InodeId f = mkfile("f");
  put(f, 0, pattern(10 * kB + 123, 'c'));
  ASSERT_TRUE(fs_->punch_hole(f, 4 * kB, 2 * kB));
  for (auto [off, len] : {std::pair<uint64_t, size_t>{100, 5000},
                          {4000, 3 * kB},
                          {6 * kB - 1, 2},
                          {10 * kB, 1 << 20}}) {
    auto s = fs_->read_segments(f, off, len);
    ASSERT_TRUE(s) << strerror(s.err());
    std::string want = get(f, off, len);
    EXPECT_EQ(s->count, want.size()) << off;
    EXPECT_EQ(bytes_of(*s), want) << off;
  }
}

TEST_F(SegmentsTest, EndOfFileClipsTheCountAndSetsEof) {
  InodeId f = mkfile("f");
  put(f, 0, pattern(10000, 'd'));
  auto mid = fs_->read_segments(f, 0, 4096);
  ASSERT_TRUE(mid);
  EXPECT_EQ(mid->count, 4096u);
  EXPECT_FALSE(mid->eof);
  auto tail = fs_->read_segments(f, 8192, 1 << 20);
  ASSERT_TRUE(tail);
  EXPECT_EQ(tail->count, 10000u - 8192);
  EXPECT_TRUE(tail->eof);
  auto past = fs_->read_segments(f, 20000, 4096);
  ASSERT_TRUE(past);
  EXPECT_EQ(past->count, 0u);
  EXPECT_TRUE(past->eof);
  EXPECT_TRUE(past->segments.empty());
  // A sparse tail (size set by truncate) reads as zeroes.
  backend::SetAttr sa;
  sa.size = 20 * kB;
  ASSERT_TRUE(fs_->setattr(f, sa));
  auto sparse = fs_->read_segments(f, 8192, 1 << 20);
  ASSERT_TRUE(sparse);
  EXPECT_EQ(sparse->count, 20 * kB - 8192);
  EXPECT_EQ(bytes_of(*sparse), get(f, 8192, 1 << 20));
}

TEST_F(SegmentsTest, KnownBadBlockFailsWithEio) {
  InodeId f = mkfile("f");
  put(f, 0, pattern(4 * kB, 'e'));
  auto ext = fs_->list_extents(f, 0, 4 * kB);
  ASSERT_TRUE(ext);
  ASSERT_FALSE(ext->empty());
  fs_->media_error(ext->front().physical + kB / 2, 1);  // inside the file's first block
  auto s = fs_->read_segments(f, 0, 4 * kB);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.err(), EIO);
  EXPECT_EQ(fs_->pins().active(), 0u);  // nothing stays pinned
}

TEST_F(SegmentsTest, DirectoryIsRefused) {
  auto s = fs_->read_segments(kRootIno, 0, 4096);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.err(), EISDIR);
}

TEST_F(SegmentsTest, LeaseKeepsTheBlocksFromReuseUntilReleased) {
  InodeId a = mkfile("a");
  std::string old = pattern(64 * kB, 'f');
  put(a, 0, old);
  auto s = fs_->read_segments(a, 0, old.size());
  ASSERT_TRUE(s);
  ASSERT_TRUE(s->lease);
  EXPECT_EQ(fs_->pins().active(), 1u);
  // Another client frees a's blocks and writes a new file, which would
  // like to get them.
  std::atomic<bool> done{false};
  std::thread other([&] {
    EXPECT_TRUE(fs_->punch_hole(a, 0, old.size()));
    InodeId b = mkfile("b");
    put(b, 0, pattern(8 << 20, 'z'));
    done = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  // While the lease lives the segments still hold a's bytes.
  EXPECT_EQ(bytes_of(*s), old);
  if (done) {
    auto b = fs_->lookup(kRootIno, "b");
    ASSERT_TRUE(b);
    auto ext = fs_->list_extents(b->ino, 0, 8 << 20);
    ASSERT_TRUE(ext);
    for (const backend::FileExtent& e : ext.value())
      for (const backend::ReadSegment& seg : s->segments)
        EXPECT_FALSE(e.physical < seg.offset + seg.length && seg.offset < e.physical + e.length);
  }
  s->lease.reset();
  other.join();
  EXPECT_TRUE(done);
  EXPECT_EQ(fs_->pins().active(), 0u);
}

// What sendfile leaves behind: the kernel holds the page-cache pages of the
// segments (socket buffers; here a pipe, which splice fills the same way)
// after the lease is gone. When the blocks are freed and written again for
// another file, those pages must keep the bytes they had: the store detaches
// them (Device::drop_cache) before the blocks can be allocated again.
TEST_F(SegmentsTest, PagesStillInFlightKeepTheirBytesWhenTheBlocksAreReused) {
  InodeId a = mkfile("a");
  std::string old = pattern(64 * kB, 'f');
  put(a, 0, old);
  auto s = fs_->read_segments(a, 0, old.size());
  ASSERT_TRUE(s);
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  ASSERT_GE(fcntl(p[1], F_SETPIPE_SZ, 1 << 20), static_cast<int>(old.size()));
  std::vector<PhysRange> sent;
  for (const backend::ReadSegment& seg : s->segments) {
    ASSERT_GE(seg.fd, 0);
    loff_t off = static_cast<loff_t>(seg.offset);
    ASSERT_EQ(splice(seg.fd, &off, p[1], nullptr, seg.length, 0),
              static_cast<ssize_t>(seg.length));
    sent.push_back({seg.offset / kB, seg.length / kB});
  }
  s->lease.reset();
  // a's blocks are freed, and a new file is written over the whole device
  // but what is in use, so it gets them.
  ASSERT_TRUE(fs_->unlink(kRootIno, "a"));
  InodeId b = mkfile("b");
  put(b, 0, pattern(kDevSize / 2, 'z'));
  auto ext = fs_->list_extents(b, 0, kDevSize / 2);
  ASSERT_TRUE(ext);
  bool reused = false;
  for (const backend::FileExtent& e : ext.value())
    for (const PhysRange& r : sent)
      reused |= e.physical < (r.pblk + r.len) * kB && r.pblk * kB < e.physical + e.length;
  ASSERT_TRUE(reused) << "b did not get a's old blocks; the test shows nothing";
  std::string in_flight(old.size(), '\0');
  ASSERT_EQ(read(p[0], in_flight.data(), in_flight.size()), static_cast<ssize_t>(old.size()));
  EXPECT_EQ(in_flight, old);
  close(p[0]);
  close(p[1]);
}

}  // namespace
}  // namespace pnfsgw::store::test
