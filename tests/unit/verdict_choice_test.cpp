// A verdict at every run count, chosen before the data: the test comes from
// the counts, the design and alpha alone; the interval is the inversion of
// that very test, so it excludes 1 exactly when the test rejects; and an
// A/A simulation keeps the false-verdict rate at or below alpha at every
// count, including the few rounds the paired test cannot judge.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>

#include "common/pipeline.hpp"
#include "common/stats.hpp"

namespace yardstick {
namespace {

// Reproducible uniform and normal numbers (std::normal_distribution differs
// between standard libraries).
struct Rng {
  std::mt19937_64 g;
  explicit Rng(uint64_t seed) : g(seed) {}
  double uniform() { return static_cast<double>(g() >> 11) * 0x1.0p-53; }
  double normal() {  // Box-Muller
    double u = uniform(), v = uniform();
    return std::sqrt(-2 * std::log(1 - u)) * std::cos(2 * M_PI * v);
  }
};

bool excludes_one(const Comparison& c) {
  return c.ci_low > 1 || c.ci_high < 1;
}
bool judged(Verdict v) {
  return v == Verdict::kFaster || v == Verdict::kSlower;
}

TEST(VerdictChoice, TheTestIsChosenFromTheCountsAndAlphaAlone) {
  EXPECT_EQ(runs_to_decide(0.05), 4u);  // 2 / C(8, 4) = 0.029
  EXPECT_EQ(runs_to_decide(0.01), 5u);  // 2 / C(10, 5) = 0.0079
  EXPECT_EQ(runs_to_decide(0), 0u);
  EXPECT_FALSE(can_decide(3, 3, 0.05));
  EXPECT_TRUE(can_decide(4, 4, 0.05));
  // Interleaved rounds: paired where 2 / 2^n < alpha, else the exact unpaired test.
  EXPECT_EQ(choose_method(3, 3, true, 0.05), Method::kNone);
  EXPECT_EQ(choose_method(4, 4, true, 0.05), Method::kRankSumOfRounds);
  EXPECT_EQ(choose_method(5, 5, true, 0.05), Method::kRankSumOfRounds);
  EXPECT_EQ(choose_method(6, 6, true, 0.05), Method::kSignedRank);
  EXPECT_EQ(choose_method(7, 7, true, 0.01), Method::kRankSumOfRounds);  // 2 / 128 > 0.01
  EXPECT_EQ(choose_method(8, 8, true, 0.01), Method::kSignedRank);
  // Blocks, unequal counts: Mann-Whitney.
  EXPECT_EQ(choose_method(5, 5, false, 0.05), Method::kRankSum);
  EXPECT_EQ(choose_method(6, 5, true, 0.05), Method::kRankSum);
  EXPECT_EQ(choose_method(3, 3, false, 0.05), Method::kNone);
  EXPECT_EQ(choose_method(2, 100, false, 0.05), Method::kRankSum);  // 2 / C(102, 2)
  EXPECT_EQ(to_string(Method::kRankSumOfRounds), "mann-whitney-exact");
  EXPECT_EQ(describe(Method::kSignedRank), "paired by round");
  EXPECT_EQ(to_string(Verdict::kWithinNoise), "within noise");
  EXPECT_EQ(interval_label(0.05), "95% CI");
  EXPECT_EQ(interval_label(0.01), "99% CI");
}

TEST(VerdictChoice, TwiceAsSlowInFiveRoundsIsSlowerByTheExactUnpairedTest) {
  // The case: five interleaved rounds, the variant about 2x the baseline.
  const std::vector<double> base = {0.47, 0.49, 0.46, 0.48, 0.50};
  const std::vector<double> slow = {1.01, 0.985, 1.03, 0.99, 1.00};
  Comparison c = compare_runs(base, slow, 0.05, 0.01, true);
  EXPECT_EQ(c.method, "mann-whitney-exact");
  EXPECT_EQ(c.verdict, Verdict::kSlower);
  EXPECT_NEAR(c.p, 2.0 / 252, 1e-12);
  EXPECT_GT(c.ci_low, 1.9);
  EXPECT_LT(c.ci_high, 2.3);
  EXPECT_GE(c.ratio, c.ci_low);
  EXPECT_LE(c.ratio, c.ci_high);
  ASSERT_TRUE(c.detectable.mde);  // it could see something
  EXPECT_EQ(compare_runs(slow, base, 0.05, 0.01, true).verdict, Verdict::kFaster);
  // Four rounds too (2 / 70); six keep the paired test.
  std::vector<double> b4(base.begin(), base.end() - 1), s4(slow.begin(), slow.end() - 1);
  EXPECT_EQ(compare_runs(b4, s4, 0.05, 0.01, true).verdict, Verdict::kSlower);
  auto b6 = base, s6 = slow;
  b6.push_back(0.45);
  s6.push_back(1.02);
  Comparison six = compare_runs(b6, s6, 0.05, 0.01, true);
  EXPECT_EQ(six.method, "wilcoxon-signed-rank");
  EXPECT_EQ(six.verdict, Verdict::kSlower);
  EXPECT_NEAR(six.p, 2.0 / 64, 1e-12);
}

TEST(VerdictChoice, ThreeRoundsCannotDecideAndSayHowManyWould) {
  Comparison c = compare_runs({1, 1.01, 1.02}, {2, 2.01, 2.02}, 0.05, 0.01, true);
  EXPECT_EQ(c.method, "none");
  EXPECT_EQ(c.verdict, Verdict::kNoChange);
  EXPECT_GE(c.p, 0.05);
  // No interval at 95 % is narrower than all ratios: it holds 1, as "no change" says.
  EXPECT_EQ(c.ci_low, 0);
  EXPECT_TRUE(std::isinf(c.ci_high));
  EXPECT_FALSE(c.detectable.mde);
  EXPECT_EQ(too_few_runs_warning(3, 3, true, 0.05),
            "too few runs to tell: with 3 interleaved rounds no test can decide at alpha 0.05 "
            "(the smallest possible p-value is 0.1); give both at least 4 runs");
  EXPECT_EQ(too_few_runs_warning(4, 4, true, 0.05), "");
  EXPECT_EQ(too_few_runs_warning(4, 4, false, 0.01),
            "too few runs to tell: with 4 and 4 runs no test can decide at alpha 0.01 (the "
            "smallest possible p-value is 0.0286); give both at least 5 runs");
}

TEST(VerdictChoice, ASignificantChangeWithinTheNoiseFloorIsWithinNoise) {
  std::vector<double> base(20), tiny(20);
  for (int i = 0; i < 20; ++i) {
    base[i] = 1.0 + i * 1e-5;
    tiny[i] = 1.005 + i * 1e-5;
  }
  for (bool interleaved : {false, true}) {
    Comparison c = compare_runs(base, tiny, 0.05, 0.01, interleaved);
    EXPECT_LT(c.p, 0.05);
    EXPECT_TRUE(excludes_one(c));
    EXPECT_EQ(c.verdict, Verdict::kWithinNoise) << interleaved;
    EXPECT_EQ(compare_runs(base, tiny, 0.05, 0.001, interleaved).verdict, Verdict::kSlower);
  }
}

// Random samples of n runs each, lognormal, the variant shifted by a random
// amount around what n can just see; `grid` > 0 rounds the times to it (ties).
void sample(Rng& rng, size_t n, double grid, std::vector<double>* a, std::vector<double>* b) {
  const double sd = 0.02 + 0.1 * rng.uniform();
  const double shift = sd * (rng.uniform() * 4 - 2) * 2 / std::sqrt(static_cast<double>(n));
  a->clear();
  b->clear();
  for (size_t i = 0; i < n; ++i) {
    const double round = 0.05 * rng.normal();  // shared by both: the round's drift
    double x = std::exp(round + sd * rng.normal()), y = std::exp(round + shift + sd * rng.normal());
    if (grid > 0) {
      x = std::max(grid, std::round(x / grid) * grid);
      y = std::max(grid, std::round(y / grid) * grid);
    }
    a->push_back(x);
    b->push_back(y);
  }
}

TEST(VerdictChoice, TheIntervalExcludesOneExactlyWhenTheTestRejects) {
  Rng rng(20261201);
  int cases = 0, rejected = 0;
  for (size_t n : {3, 4, 5, 6, 7, 9, 12, 26, 40})
    for (double alpha : {0.01, 0.05, 0.1, 0.2})
      for (bool interleaved : {true, false})
        for (int trial = 0; trial < 60; ++trial) {
          std::vector<double> a, b;
          sample(rng, n, 0, &a, &b);
          if (!interleaved && trial % 2) b.pop_back();  // unequal counts
          Comparison c = compare_runs(a, b, alpha, 0.01, interleaved);
          const std::string what = c.method + " n " + std::to_string(n) + " alpha " +
                                   std::to_string(alpha) + " p " + std::to_string(c.p) + " [" +
                                   std::to_string(c.ci_low) + ", " + std::to_string(c.ci_high) +
                                   "]";
          ASSERT_EQ(excludes_one(c), c.p < alpha) << what;
          ASSERT_EQ(excludes_one(c), c.verdict != Verdict::kNoChange) << what;
          ASSERT_LE(c.ci_low, c.ratio) << what;
          ASSERT_GE(c.ci_high, c.ratio) << what;
          ++cases;
          rejected += c.p < alpha;
        }
  EXPECT_GT(rejected, cases / 5);  // both outcomes were exercised
  EXPECT_LT(rejected, cases * 4 / 5);
}

TEST(VerdictChoice, WithTiesAnIntervalThatExcludesOneAlwaysComesWithAVerdict) {
  // Times on a coarse grid (CPU time in microseconds, instruction counts):
  // ties within and across samples. The interval is still the test's inversion,
  // and when a run of each variant took the same time (a difference of
  // zero) it holds 1 whenever the test does not reject 1.
  Rng rng(20261202);
  for (size_t n : {4, 5, 6, 8, 12, 30})
    for (double alpha : {0.05, 0.1})
      for (bool interleaved : {true, false})
        for (int trial = 0; trial < 100; ++trial) {
          std::vector<double> a, b;
          sample(rng, n, 0.02, &a, &b);
          Comparison c = compare_runs(a, b, alpha, 0.01, interleaved);
          ASSERT_EQ(excludes_one(c), c.verdict != Verdict::kNoChange) << c.method << " n " << n;
          if (excludes_one(c)) {
            ASSERT_LT(c.p, alpha);
          }
        }
}

// The interval by brute force: the public tests (mann_whitney,
// wilcoxon_signed_rank) at a shift of the log times between each two
// neighbouring candidates (pairwise differences, Walsh averages), where the
// statistic is constant; the closure of the gaps not rejected at alpha.
std::pair<double, double> accepted_hull(const std::vector<double>& a, const std::vector<double>& b,
                                        bool paired, double alpha) {
  std::vector<double> cand;
  if (paired) {
    for (size_t i = 0; i < a.size(); ++i)
      for (size_t j = i; j < a.size(); ++j)
        cand.push_back((std::log(b[i] / a[i]) + std::log(b[j] / a[j])) / 2);
  } else {
    for (double x : a)
      for (double y : b) cand.push_back(std::log(y) - std::log(x));
  }
  std::sort(cand.begin(), cand.end());
  auto p_at = [&](double t) {
    if (paired) {
      std::vector<double> d;
      for (size_t i = 0; i < a.size(); ++i) d.push_back(std::log(b[i] / a[i]) - t);
      return wilcoxon_signed_rank(d).p;
    }
    std::vector<double> la, lb;
    for (double x : a) la.push_back(std::log(x));
    for (double y : b) lb.push_back(std::log(y) - t);
    return mann_whitney(la, lb).p;
  };
  // Gap k lies between cand[k - 1] and cand[k]; gap 0 below all, gap size() above.
  double lo = INFINITY, hi = -INFINITY;
  for (size_t k = 0; k <= cand.size(); ++k) {
    const double t = k == 0             ? cand.front() - 1
                     : k == cand.size() ? cand.back() + 1
                                        : (cand[k - 1] + cand[k]) / 2;
    if (p_at(t) < alpha) continue;
    lo = std::min(lo, k == 0 ? -INFINITY : cand[k - 1]);
    hi = std::max(hi, k == cand.size() ? INFINITY : cand[k]);
  }
  return {std::exp(lo), std::exp(hi)};
}

TEST(VerdictChoice, TheIntervalIsTheSetOfShiftsTheTestDoesNotReject) {
  Rng rng(20261203);
  for (size_t n : {4, 6, 9, 12})
    for (double alpha : {0.05, 0.2})
      for (bool paired : {true, false})
        for (int trial = 0; trial < 20; ++trial) {
          std::vector<double> a, b;
          sample(rng, n, 0, &a, &b);
          Comparison c = paired ? compare_paired(a, b, alpha, 0.01) : compare(a, b, alpha, 0.01);
          auto [lo, hi] = accepted_hull(a, b, paired, alpha);
          auto same = [](double x, double y) {
            return x == y || std::fabs(x - y) <= 1e-9 * std::fabs(y);
          };
          EXPECT_TRUE(same(c.ci_low, lo) && same(c.ci_high, hi))
              << c.method << " n " << n << " alpha " << alpha << ": [" << c.ci_low << ", "
              << c.ci_high << "], by brute force [" << lo << ", " << hi << "]";
        }
}

// One simulated interleaved benchmark, as tests/unit/paired_stats_test.cpp's:
// a per-round drift (a random walk, 1 % a step) shared by both variants, 3 %
// noise per run, and the run first in its round slower by 1 to 2.5 % (new
// for each job); each round's order a fair coin. `shift`: the variant's ratio.
void simulate(Rng& rng, int rounds, double shift, std::vector<double>* base,
              std::vector<double>* var) {
  const double first_slot = 0.01 + 0.015 * rng.uniform();
  double drift = 0;
  base->clear();
  var->clear();
  for (int r = 0; r < rounds; ++r) {
    drift += 0.01 * rng.normal();
    const bool base_first = rng.uniform() < 0.5;
    const double t = 0.030 * std::exp(drift);
    base->push_back(t * std::exp(0.03 * rng.normal()) * (base_first ? 1 + first_slot : 1));
    var->push_back(t * shift * std::exp(0.03 * rng.normal()) * (base_first ? 1 : 1 + first_slot));
  }
}

TEST(VerdictChoice, AAFalseVerdictsStayWithinAlphaAtEveryRoundCount) {
  const int trials = 4000;
  for (int rounds : {3, 4, 5, 6, 20}) {
    Rng rng(20261204 + rounds);
    int wrong = 0, within = 0;
    std::vector<double> b, v;
    for (int i = 0; i < trials; ++i) {
      simulate(rng, rounds, 1.0, &b, &v);
      const Verdict verdict = compare_runs(b, v, 0.05, 0.01, true).verdict;
      wrong += judged(verdict);
      within += verdict == Verdict::kWithinNoise;
    }
    const double rate = static_cast<double>(wrong) / trials;
    std::printf("A/A, %d rounds, %s: %d of %d false verdicts (%.3f), %d within noise\n", rounds,
                to_string(choose_method(rounds, rounds, true, 0.05)).c_str(), wrong, trials, rate,
                within);
    EXPECT_LE(rate, 0.05) << rounds << " rounds";
  }
}

TEST(VerdictChoice, SubmitWarnsOfARunCountNoTestCanDecideAndNamesTheOneThatWould) {
  auto bench = [](const std::string& bench_map, const std::string& rest) {
    return parse_pipeline(
        "pipeline: p\njobs:\n  spin:\n    kind: bench\n    bench: " + bench_map + "\n" + rest,
        "p.yml");
  };
  const std::string two = "    variants: [{name: a}, {name: b}]\n";
  auto r = bench("{run: x, runs: 3}", two);
  ASSERT_TRUE(r.ok());  // still a valid pipeline
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_EQ(r.warnings[0].to_string(),
            "p.yml:5:27: jobs.spin.bench.runs: runs 3: no test can tell its variants apart with 3 "
            "runs each at alpha 0.05 (the smallest possible p-value is 0.1), so the verdict will "
            "be \"no change\" whatever the times; give it at least 4 runs");
  EXPECT_TRUE(bench("{run: x, runs: 4}", two).warnings.empty());
  EXPECT_TRUE(bench("{run: x, runs: 5, interleave: false}", two).warnings.empty());
  // A stricter alpha needs more.
  r = bench("{run: x, runs: 4, alpha: 0.01}", two);
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_NE(r.warnings[0].message.find("give it at least 5 runs"), std::string::npos);
  // An adaptive count capped below it.
  r = bench("{run: x, min_runs: 2, max_runs: 2}", two);
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_EQ(r.warnings[0].key, "jobs.spin.bench.max_runs");
  // One variant is compared with nothing, unless a gate compares its revisions.
  EXPECT_TRUE(bench("{run: x, runs: 3}", "").warnings.empty());
  r = bench("{run: x, runs: 3}",
            "  ship:\n    needs: [{job: spin, no_regression: true}]\n    steps: [{run: x}]\n");
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_NE(r.warnings[0].message.find("two revisions"), std::string::npos);
}

}  // namespace
}  // namespace yardstick
