#include "replicator/backoff.h"

#include <gtest/gtest.h>

namespace mirrorfs::replicator {
namespace {

using std::chrono::milliseconds;

TEST(BackoffTest, DoublesUpToTheMaximum) {
  Backoff b(milliseconds(500), milliseconds(3000));
  EXPECT_EQ(b.next(), milliseconds(500));
  EXPECT_EQ(b.next(), milliseconds(1000));
  EXPECT_EQ(b.next(), milliseconds(2000));
  EXPECT_EQ(b.next(), milliseconds(3000));
  EXPECT_EQ(b.next(), milliseconds(3000));
}

TEST(BackoffTest, AfterProgressTheNextFailureWaitsTheInitialDelayAgain) {
  Backoff b(milliseconds(500), milliseconds(30000));
  for (int i = 0; i < 20; ++i) (void)b.next();  // away for long
  ASSERT_EQ(b.next(), milliseconds(30000));
  b.reset();  // came back and took a batch
  EXPECT_EQ(b.next(), milliseconds(500));
  EXPECT_EQ(b.next(), milliseconds(1000));
}

}  // namespace
}  // namespace mirrorfs::replicator
