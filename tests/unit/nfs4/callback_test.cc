// send_cb_compound's refusals (no backchannel, a callback in flight) call
// done() without the session's lock held: done() may take it, as the
// probe's mark_down() does.
#include <gtest/gtest.h>

#include <future>

#include "gateway/nfs4/callback.h"
#include "gateway/nfs4/clients.h"

namespace pnfsgw::nfs4 {
namespace {

nfsstat4 send_and_lock_in_done(const std::shared_ptr<Session>& s) {
  auto result = std::async(std::launch::async, [s] {
    nfsstat4 got = NFS4_OK;
    send_cb_compound(s, 0, {}, [&](nfsstat4 st, std::vector<uint8_t>) {
      std::lock_guard<std::mutex> lk(s->mu);  // deadlocked when done ran under the lock
      got = st;
    });
    return got;
  });
  if (result.wait_for(std::chrono::seconds(5)) != std::future_status::ready) {
    ADD_FAILURE() << "send_cb_compound deadlocked";
    std::abort();  // the thread cannot be joined
  }
  return result.get();
}

TEST(CallbackTest, NoBackchannelIsCbPathDownAndDoneMayTakeTheSessionLock) {
  auto s = std::make_shared<Session>();
  EXPECT_EQ(send_and_lock_in_done(s), NFS4ERR_CB_PATH_DOWN);
}

}  // namespace
}  // namespace pnfsgw::nfs4
