#include "common/numbers.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <limits>

namespace yardstick {
namespace {

TEST(Numbers, ExactReadsBackAsTheSameDouble) {
  EXPECT_EQ(exact_number(0.0110423), "0.0110423");
  EXPECT_EQ(exact_number(420), "420");
  for (double v : {0.1 + 0.2, 1.0 / 3, 6.02214076e23, 5e-324, -0.00091234567891}) {
    const std::string s = exact_number(v);
    EXPECT_EQ(std::strtod(s.c_str(), nullptr), v) << s;
  }
  EXPECT_EQ(exact_number(std::numeric_limits<double>::infinity()), "Infinity");
  EXPECT_EQ(exact_number(-std::numeric_limits<double>::infinity()), "-Infinity");
  EXPECT_EQ(exact_number(std::nan("")), "NaN");
}

TEST(Numbers, SignificantDigitsKeepEveryIntegerDigitAndTheirTrailingZeros) {
  EXPECT_EQ(significant(0.0110423), "0.01104");
  EXPECT_EQ(significant(1.2), "1.200");
  EXPECT_EQ(significant(12345.6), "12346");
  EXPECT_EQ(significant(9.9996), "10.00");
  EXPECT_EQ(significant(0.99996), "1.000");
  EXPECT_EQ(significant(-2.5e-3, 2), "-0.0025");
  EXPECT_EQ(significant(0), "0.000");
  EXPECT_EQ(significant(1.5e-9), "1.500e-09");
}

TEST(Numbers, SecondsAreScaledAsHyperfinePrintsThem) {
  EXPECT_EQ(human_seconds(0.0110423), "11.04 ms");
  EXPECT_EQ(human_seconds(0.0009123), "912.3 µs");
  EXPECT_EQ(human_seconds(432.1), "432.1 s");
  EXPECT_EQ(human_seconds(2.5e-8), "25.00 ns");
  EXPECT_EQ(human_seconds(0), "0.000 s");
  // Two values a budget tells apart are told apart on the screen.
  EXPECT_NE(human_seconds(0.0110423), human_seconds(0.011));
}

TEST(Numbers, CellsAreShownByTheirUnitAndTextStaysText) {
  EXPECT_EQ(human_cell("0.0110423", "s"), "11.04 ms");
  EXPECT_EQ(human_cell("12.5", "ms"), "12.50 ms");
  EXPECT_EQ(human_cell("1.0312345", ""), "1.031");
  EXPECT_EQ(human_cell("Infinity", ""), "Infinity");
  EXPECT_EQ(human_cell("slower", ""), "slower");
  EXPECT_EQ(human_cell("", "s"), "");
  EXPECT_EQ(human_cell("3 runs", "s"), "3 runs");
}

}  // namespace
}  // namespace yardstick
