// Grace period and persisted client records (RFC 8881 8.4.2).
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "gateway/nfs4/grace.h"

namespace pnfsgw::nfs4 {
namespace {

struct GraceTest : ::testing::Test {
  std::string dir;
  GraceManager::Clock::time_point now = GraceManager::Clock::time_point() + std::chrono::hours(1);
  void SetUp() override {
    char d[] = "/tmp/pnfsgw-grace-XXXXXX";
    ASSERT_NE(mkdtemp(d), nullptr);
    dir = d;
  }
  void TearDown() override { std::filesystem::remove_all(dir); }
  std::unique_ptr<GraceManager> start() {
    return std::make_unique<GraceManager>(dir, std::chrono::seconds(30), [this] { return now; });
  }
};

TEST_F(GraceTest, AFreshServerHasNoGracePeriod) {
  auto g = start();
  EXPECT_FALSE(g->in_grace());
  EXPECT_FALSE(g->may_reclaim("a"));
}

TEST_F(GraceTest, ClientsActiveBeforeARestartMayReclaimDuringGrace) {
  start()->client_active("a");
  auto g = start();
  EXPECT_TRUE(g->in_grace());
  EXPECT_TRUE(g->may_reclaim("a"));
  EXPECT_FALSE(g->may_reclaim("stranger"));
}

TEST_F(GraceTest, GraceEndsWhenEveryPreviousClientCompletedReclaim) {
  {
    auto g = start();
    g->client_active("a");
    g->client_active("b");
  }
  auto g = start();
  g->reclaim_complete("a");
  EXPECT_TRUE(g->in_grace());
  EXPECT_FALSE(g->may_reclaim("a"));
  g->reclaim_complete("b");
  EXPECT_FALSE(g->in_grace());
}

TEST_F(GraceTest, GraceEndsOnTimeAndForgetsClientsThatNeverCameBack) {
  start()->client_active("a");
  auto g = start();
  EXPECT_TRUE(g->in_grace());
  now += std::chrono::seconds(31);
  EXPECT_FALSE(g->in_grace());
  g.reset();
  EXPECT_FALSE(start()->in_grace());
}

TEST_F(GraceTest, AClientThatLeftIsNotRemembered) {
  {
    auto g = start();
    g->client_active("a");
    g->client_gone("a");
  }
  EXPECT_FALSE(start()->in_grace());
}

}  // namespace
}  // namespace pnfsgw::nfs4
