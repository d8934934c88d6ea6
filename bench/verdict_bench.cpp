// Figures of the verdict at every run count (docs/benchmarks.md, "A verdict
// at every run count"): simulated interleaved benchmarks of two variants at
// 3 to 20 rounds, judged three ways:
//
//   paired only: the Wilcoxon signed-rank test of the rounds at every count,
//     as yardstick judged interleaved runs before (no verdict below 6 rounds
//     at alpha 0.05);
//   chosen (now): compare_runs, the test chosen from the count and alpha
//     alone: paired where it can reach alpha, else the exact Mann-Whitney
//     test of the two samples, else none;
//   unpaired: Mann-Whitney on the two samples at every count.
//
// For each: the A/A false-verdict rate (how often "faster" or "slower" is
// said of identical variants) and how often a 10 % slowdown is judged
// "slower". Each simulated job: a per-round drift of the machine (a random
// walk, 1 % a step) shared by both variants, 3 % noise per run, and the run
// first in its round slower by 1 to 2.5 % (drawn per job), in an order
// shuffled for each round, as measured on a shared VM (the model of
// tests/unit/paired_stats_test.cpp). Then the case the unpaired test is not
// made for: the position in the round dominating the noise (2 % for the run
// first in its round, 0.3 % noise, no drift).
//
//   build/bench/verdict_bench [--trials 4000] [--alpha 0.05] [--seed 1]
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "common/stats.hpp"

using namespace yardstick;

namespace {

struct Rng {
  std::mt19937_64 g;
  explicit Rng(uint64_t seed) : g(seed) {}
  double uniform() { return static_cast<double>(g() >> 11) * 0x1.0p-53; }
  double normal() {  // Box-Muller: the same numbers with any standard library
    double u = uniform(), v = uniform();
    return std::sqrt(-2 * std::log(1 - u)) * std::cos(2 * M_PI * v);
  }
};

struct Model {
  double drift_step = 0.01;                     // random walk of the machine, per round
  double noise = 0.03;                          // per run
  double first_low = 0.01, first_high = 0.025;  // the run first in its round is slower by
};

void simulate(Rng& rng, const Model& m, int rounds, double shift, std::vector<double>* base,
              std::vector<double>* var) {
  const double first = m.first_low + (m.first_high - m.first_low) * rng.uniform();
  double drift = 0;
  base->clear();
  var->clear();
  for (int r = 0; r < rounds; ++r) {
    drift += m.drift_step * rng.normal();
    const bool base_first = rng.uniform() < 0.5;
    const double t = 0.030 * std::exp(drift);
    base->push_back(t * std::exp(m.noise * rng.normal()) * (base_first ? 1 + first : 1));
    var->push_back(t * shift * std::exp(m.noise * rng.normal()) * (base_first ? 1 : 1 + first));
  }
}

bool judged(Verdict v) {
  return v == Verdict::kFaster || v == Verdict::kSlower;
}

struct Rates {
  double paired = 0, chosen = 0, unpaired = 0;
};

// The rate of "faster" or "slower" (shift 1), or of "slower" (shift > 1).
Rates rates(uint64_t seed, const Model& m, int rounds, double shift, int trials, double alpha) {
  Rng rng(seed);
  Rates r;
  std::vector<double> b, v;
  auto hit = [&](Verdict verdict) {
    return shift == 1 ? judged(verdict) : verdict == Verdict::kSlower;
  };
  for (int i = 0; i < trials; ++i) {
    simulate(rng, m, rounds, shift, &b, &v);
    r.paired += hit(compare_paired(b, v, alpha, 0.01).verdict);
    r.chosen += hit(compare_runs(b, v, alpha, 0.01, true).verdict);
    r.unpaired += hit(compare(b, v, alpha, 0.01).verdict);
  }
  r.paired /= trials;
  r.chosen /= trials;
  r.unpaired /= trials;
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  int trials = 4000;
  double alpha = 0.05;
  uint64_t seed = 1;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--trials"))
      trials = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--alpha"))
      alpha = std::atof(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--seed"))
      seed = std::strtoull(argv[i + 1], nullptr, 10);
    else {
      std::fprintf(stderr, "usage: %s [--trials N] [--alpha A] [--seed S]\n", argv[0]);
      return 2;
    }
  }
  if (trials <= 0 || !(alpha > 0 && alpha < 1)) {
    std::fprintf(stderr, "verdict_bench: --trials must be positive, --alpha in (0, 1)\n");
    return 2;
  }
  const Model shared;  // drift, noise, a small position effect
  Model position;      // the position in the round dominates
  position.drift_step = 0;
  position.noise = 0.003;
  position.first_low = position.first_high = 0.02;

  std::printf("%d simulated jobs per cell, alpha %g, noise floor 1 %%\n\n", trials, alpha);
  std::printf(
      "| rounds | test chosen | A/A false: paired only | chosen (now) | unpaired | 10 %% found: "
      "paired only | chosen (now) | unpaired | A/A false, position dominating: paired only | "
      "chosen (now) | unpaired |\n|---|---|---|---|---|---|---|---|---|---|---|\n");
  for (int rounds : {3, 4, 5, 6, 8, 10, 15, 20}) {
    const uint64_t s = seed * 1000 + static_cast<uint64_t>(rounds);
    const Rates aa = rates(s, shared, rounds, 1.0, trials, alpha);
    const Rates found = rates(s + 100, shared, rounds, 1.10, trials, alpha);
    const Rates pos = rates(s + 200, position, rounds, 1.0, trials, alpha);
    std::printf("| %d | %s | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f |\n",
                rounds, to_string(choose_method(rounds, rounds, true, alpha)).c_str(), aa.paired,
                aa.chosen, aa.unpaired, found.paired, found.chosen, found.unpaired, pos.paired,
                pos.chosen, pos.unpaired);
  }
  return 0;
}
