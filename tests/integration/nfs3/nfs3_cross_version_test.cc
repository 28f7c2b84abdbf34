// One export, two protocols: what an NFSv3 client (libnfs) writes, an
// NFSv4.1 client (the project's Nfs4Client) reads, and the reverse.
#include "client/nfs4_client.h"
#include "tests/integration/nfs3/nfs3_fixture.h"

namespace pnfsgw::nfs3_test {
namespace {

using Nfs3CrossVersionTest = Nfs3IntegrationTest;
using client::Fh;
using client::Nfs4Client;
using client::Nfs4ClientOptions;
using client::OpenOptions;
using client::Stateid;

// Reads a whole file over NFSv4.1 in 1 MiB READs.
std::string v4_read_all(Nfs4Client& c, const Fh& fh) {
  std::string out;
  for (;;) {
    auto r = c.read(fh, Stateid::anonymous(), out.size(), 1u << 20);
    if (!r) {
      ADD_FAILURE() << "READ at " << out.size() << ": " << r.err();
      return out;
    }
    out.append(r->data.begin(), r->data.end());
    if (r->eof || r->data.empty()) return out;
  }
}

TEST_F(Nfs3CrossVersionTest, FilesWrittenOverV3ReadOverV41AndTheReverse) {
  Nfs4ClientOptions o;
  o.owner = "nfs3-cross-" + std::to_string(getpid());
  Nfs4Client v4(o);
  ASSERT_TRUE(v4.mount("127.0.0.1", server_->port()).is_ok()) << server_->log_tail();
  auto root = v4.root_fh();
  ASSERT_TRUE(root);

  // NFSv3 -> NFSv4.1.
  const std::string v3data = test::random_bytes((3u << 20) + 11, 31);
  write_host_file(scratch("v3src"), v3data);
  CommandResult cp = run_command({"nfs-cp", scratch("v3src"), root_file_url("from-v3")});
  ASSERT_EQ(cp.status, 0) << cp.errors;
  auto f = v4.lookup(*root, "from-v3");
  ASSERT_TRUE(f) << f.err();
  EXPECT_TRUE(v4_read_all(v4, *f) == v3data);

  // NFSv4.1 -> NFSv3.
  const std::string v4data = test::random_bytes((2u << 20) + 5, 32);
  OpenOptions oo;
  oo.create = true;
  oo.attrs.mode = 0644;
  auto opened = v4.open(*root, "from-v4", oo);
  ASSERT_TRUE(opened) << opened.err();
  for (size_t off = 0; off < v4data.size(); off += 1u << 20) {
    size_t n = std::min<size_t>(1u << 20, v4data.size() - off);
    auto w = v4.write(opened->fh, opened->stateid, off,
                      {reinterpret_cast<const uint8_t*>(v4data.data()) + off, n});
    ASSERT_TRUE(w) << w.err();
    ASSERT_EQ(w->count, n);
  }
  ASSERT_TRUE(v4.close(opened->fh, opened->stateid));
  CommandResult cat = run_command({"nfs-cat", root_file_url("from-v4")});
  ASSERT_EQ(cat.status, 0) << cat.errors;
  EXPECT_TRUE(cat.output == v4data) << "nfs-cat gave " << cat.output.size() << " bytes";
  v4.shutdown();
}

}  // namespace
}  // namespace pnfsgw::nfs3_test
