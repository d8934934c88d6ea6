// Store errors are typed by whose fault they are (SQLSTATE), and the
// coordinator's connection string gets its time limits.
#include <gtest/gtest.h>

#include "coordinator/store/pg_session.hpp"

namespace yardstick {
namespace {

TEST(StoreError, DataAndConstraintErrorsAreRefusalsOfThatMessage) {
  EXPECT_EQ(classify_sqlstate("22021"), StoreFault::kRefused);  // invalid byte sequence
  EXPECT_EQ(classify_sqlstate("22003"), StoreFault::kRefused);  // numeric value out of range
  EXPECT_EQ(classify_sqlstate("23505"), StoreFault::kRefused);  // unique violation
  EXPECT_EQ(classify_sqlstate("23503"), StoreFault::kRefused);  // foreign key
  EXPECT_EQ(classify_sqlstate("42601"), StoreFault::kRefused);  // syntax error
  EXPECT_EQ(classify_sqlstate("54000"), StoreFault::kRefused);  // program limit exceeded
}

TEST(StoreError, ConnectionSerializationAndShutdownAreOutagesToRetry) {
  EXPECT_EQ(classify_sqlstate("08006"), StoreFault::kUnavailable);  // connection failure
  EXPECT_EQ(classify_sqlstate("40001"), StoreFault::kUnavailable);  // serialization failure
  EXPECT_EQ(classify_sqlstate("40P01"), StoreFault::kUnavailable);  // deadlock
  EXPECT_EQ(classify_sqlstate("57P01"), StoreFault::kUnavailable);  // admin shutdown
  EXPECT_EQ(classify_sqlstate("53100"), StoreFault::kUnavailable);  // disk full
  EXPECT_EQ(classify_sqlstate("57014"), StoreFault::kUnavailable);  // statement timeout
  EXPECT_EQ(classify_sqlstate(""), StoreFault::kUnavailable);
  StoreError e("x", StoreFault::kRefused, "22021");
  EXPECT_TRUE(e.refused());
  EXPECT_FALSE(e.retryable());
}

TEST(StoreError, DsnGetsTimeoutsAndKeepalivesUnlessItSetsThem) {
  PgOptions o;
  EXPECT_EQ(dsn_with_options("host=/tmp dbname=y", o),
            "host=/tmp dbname=y connect_timeout=5 keepalives=1 keepalives_idle=10 "
            "keepalives_interval=3 keepalives_count=3");
  EXPECT_EQ(dsn_with_options("postgresql://u@h/db", o),
            "postgresql://u@h/db?connect_timeout=5&keepalives=1&keepalives_idle=10&"
            "keepalives_interval=3&keepalives_count=3");
  EXPECT_EQ(dsn_with_options("postgresql://u@h/db?sslmode=disable&connect_timeout=1", o),
            "postgresql://u@h/db?sslmode=disable&connect_timeout=1&keepalives=1&"
            "keepalives_idle=10&keepalives_interval=3&keepalives_count=3");
}

}  // namespace
}  // namespace yardstick
