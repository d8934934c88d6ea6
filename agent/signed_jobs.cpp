#include "agent/signed_jobs.hpp"

#include <exception>

#include "common/pipeline.hpp"

namespace yardstick {

namespace {

// "env FOO added" / "removed" / "changed"; empty when equal.
std::string env_difference(const std::string& what, const EnvVars& want, const EnvVars& got) {
  for (const auto& [k, v] : got) {
    auto it = want.find(k);
    if (it == want.end()) return what + " " + k + " added";
    if (it->second != v) return what + " " + k + " changed";
  }
  for (const auto& [k, v] : want)
    if (!got.count(k)) return what + " " + k + " removed";
  return "";
}

std::string step_difference(const std::string& where, const StepSpec& want, const StepSpec& got) {
  if (want.run != got.run) return where + " run";
  if (auto d = env_difference(where + " env", want.env, got.env); !d.empty()) return d;
  if (want.name != got.name) return where + " name";
  if (want.timeout_ms != got.timeout_ms) return where + " timeout";
  if (want.timed != got.timed) return where + " timed";
  if (want.collect != got.collect) return where + " collect";
  return "";
}

std::string bench_difference(const BenchSpec& want, const BenchSpec& got) {
  if (want.run != got.run) return "bench run";
  if (want.setup != got.setup) return "bench setup";
  if (want.prepare != got.prepare) return "bench prepare";
  if (want.conclude != got.conclude) return "bench conclude";
  if (want.cleanup != got.cleanup) return "bench cleanup";
  if (want.shell != got.shell) return "bench shell";
  if (want.warmup != got.warmup) return "bench warmup";
  if (want.runs != got.runs) return "bench runs";
  if (want.min_runs != got.min_runs) return "bench min_runs";
  if (want.max_runs != got.max_runs) return "bench max_runs";
  if (want.max_time_ms != got.max_time_ms) return "bench max_time";
  if (want.ignore_failure != got.ignore_failure) return "bench ignore_failure";
  if (want.interleave != got.interleave) return "bench interleave";
  if (want.collect != got.collect) return "bench collect";
  if (want.alpha != got.alpha) return "bench alpha";
  if (want.noise_floor != got.noise_floor) return "bench noise_floor";
  if (want.measure != got.measure) return "bench measure";
  if (want.precision != got.precision) return "bench precision";
  return "";
}

// `a` without what the coordinator sets on its own.
JobAssignment comparable(JobAssignment a) {
  a.job_id = 0;
  a.attempt = 0;
  a.pipeline_id = 0;
  a.slots = 0;
  a.budget.reset();
  for (auto& step : a.steps) step.budget.reset();
  a.signed_submission.reset();
  return a;
}

std::string count_difference(const std::string& what, size_t want, size_t got) {
  return what + ": " + std::to_string(want) + " signed, " + std::to_string(got) + " given";
}

}  // namespace

std::string spec_difference(const JobAssignment& want, const JobAssignment& got) {
  if (want.pipeline_name != got.pipeline_name) return "pipeline name";
  if (want.job_name != got.job_name) return "job name";
  if (want.kind != got.kind) return "kind";
  if (want.revision != got.revision) return "revision";
  if (want.branch != got.branch) return "branch";
  if (want.checkout_repo != got.checkout_repo) return "checkout repo";
  if (want.workdir != got.workdir) return "workdir";
  if (auto d = env_difference("env", want.env, got.env); !d.empty()) return d;
  if (want.timeout_ms != got.timeout_ms) return "timeout";
  if (want.steps.size() != got.steps.size())
    return count_difference("steps", want.steps.size(), got.steps.size());
  for (size_t i = 0; i < want.steps.size(); ++i)
    if (auto d = step_difference("step " + std::to_string(i + 1), want.steps[i], got.steps[i]);
        !d.empty())
      return d;
  if (want.bench.has_value() != got.bench.has_value())
    return want.bench ? "bench section removed" : "bench section added";
  if (want.bench)
    if (auto d = bench_difference(*want.bench, *got.bench); !d.empty()) return d;
  if (want.variants.size() != got.variants.size())
    return count_difference("variants", want.variants.size(), got.variants.size());
  for (size_t i = 0; i < want.variants.size(); ++i) {
    const std::string where = "variant " + std::to_string(i + 1);
    if (want.variants[i].name != got.variants[i].name) return where + " name";
    if (want.variants[i].run != got.variants[i].run) return where + " run";
    if (auto d = env_difference(where + " env", want.variants[i].env, got.variants[i].env);
        !d.empty())
      return d;
  }
  // Fail closed: a field added to the spec later and not named above is
  // compared too, as a whole.
  if (comparable(want) != comparable(got)) return "a field of the job spec";
  return "";
}

std::string check_signed_job(const JobAssignment& job, const signing::TrustedSubmitters& trusted,
                             const Labels& labels, std::string* signer) {
  if (!job.signed_submission)
    return "unsigned job refused: this agent requires signatures (--trusted-submitters)";
  const SignedSubmission& s = *job.signed_submission;
  try {
    if (std::string why = signing::verify_signature(s); !why.empty()) return why;
    const signing::TrustedSubmitter* who = trusted.find(s.public_key);
    if (!who)
      return "signed by " + signing::public_key_text(s.public_key) +
             ", a key this agent does not trust (not in " + trusted.file() + ")";
    if (signer)
      *signer = (who->name.empty() ? "" : who->name + " ") + "(" +
                signing::public_key_text(s.public_key) + ")";
    const std::string job_ref = "job '" + job.job_name + "'";
    auto parsed = parse_pipeline(s.yaml, s.file_name);
    if (!parsed.ok())
      return "the signed pipeline file does not parse: " + parsed.errors.front().to_string();
    const JobDef* jd = parsed.pipeline->find_job(job.job_name);
    if (!jd) return job_ref + " is not in the signed pipeline file " + s.file_name;
    if (!labels_match(labels, jd->on_labels))
      return job_ref + " is signed for agents labelled " + format_labels(jd->on_labels) +
             "; this agent is " + format_labels(labels);
    // The revision checked out is the signed one: the coordinator fills it
    // in from the submission, so a different one is a change.
    const JobAssignment want = assignment_for(*parsed.pipeline, *jd, s.revision, s.branch);
    if (std::string d = spec_difference(want, job); !d.empty())
      return job_ref + " differs from what was signed: " + d;
    return "";
  } catch (const std::exception& e) {
    return std::string("the signed submission cannot be checked: ") + e.what();
  }
}

}  // namespace yardstick
