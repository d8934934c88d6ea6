#include <gtest/gtest.h>

#include "agent/fingerprint.hpp"

namespace yardstick {
namespace {

TEST(Fingerprint, ExtractsVersionsAsToolsPrintThem) {
  EXPECT_EQ(extract_version("gcc (Debian 12.2.0-14+deb12u1) 12.2.0\nCopyright"), "12.2.0");
  EXPECT_EQ(extract_version("cmake version 3.25.1\n"), "3.25.1");
  EXPECT_EQ(extract_version("1.11.1\n"), "1.11.1");
  EXPECT_EQ(extract_version("cargo 1.95.0 (f2d3ce0bd 2026-03-21)"), "1.95.0");
  EXPECT_EQ(extract_version("git version 2.39.5"), "2.39.5");
  EXPECT_EQ(extract_version("no version here"), "");
}

TEST(Fingerprint, ThisMachineHasCoresMemoryAndLabels) {
  MachineInfo m = collect_machine("unit");
  EXPECT_EQ(m.name, "unit");
  EXPECT_GT(m.logical_cores, 0u);
  EXPECT_GT(m.memory_bytes, 0u);
  EXPECT_FALSE(m.arch.empty());
  Labels l = automatic_labels(m);
  EXPECT_TRUE(l.count("os=linux"));
  EXPECT_TRUE(l.count("arch=" + m.arch));
  MachineInfo same = m;
  EXPECT_EQ(same.fingerprint(), m.fingerprint());
  same.name = "other";
  EXPECT_NE(same.fingerprint(), m.fingerprint());
}

}  // namespace
}  // namespace yardstick
