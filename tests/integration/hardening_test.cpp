// What a job may hand to git and where it may run, end to end: the CLI and
// the coordinator refuse a repository, revision or workdir that would reach
// git as an option or lead out of the workspace, and the agent refuses them
// on its own when a stored spec was changed behind the coordinator's back.
// A repository cache left broken by a clone that did not finish is rebuilt.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "tests/integration/harness.hpp"

namespace yardstick::test {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

// A repository with one commit whose f.txt says `text`.
std::string make_repo(const std::string& dir, const std::string& text,
                      const std::string& extra = "") {
  fs::create_directories(dir);
  const std::string cmd = "cd '" + dir +
                          "' && git init -q && git config user.email t@e && "
                          "git config user.name t && echo " +
                          text + " > f.txt && " + (extra.empty() ? "" : extra + " && ") +
                          "git add -A && git commit -qm one";
  if (std::system(cmd.c_str()) != 0) throw std::runtime_error("cannot make " + dir);
  return dir;
}

bool job_ended(Cluster& c, int64_t id) {
  const std::string s = c.text("SELECT state FROM jobs WHERE id = " + std::to_string(id));
  return s == "succeeded" || s == "failed" || s == "timed_out" || s == "cancelled";
}

// Rewrites a queued job's stored spec, as a coordinator taken over could
// send it; the coordinator is restarted so that it loads the new spec.
void tamper(Cluster& c, const std::vector<std::pair<int64_t, std::string>>& edits) {
  c.kill_coordinator();
  for (const auto& [id, set] : edits)
    c.query("UPDATE jobs SET spec = " + set + " WHERE id = " + std::to_string(id));
  c.start_coordinator();
}

std::string quoted(const std::string& s) {
  std::string out = "'";
  for (char ch : s) out += ch == '\'' ? std::string("''") : std::string(1, ch);
  return out + "'";
}

TEST(Hardening, RepositoryOrRevisionStartingWithADashIsRefusedAndNothingRuns) {
  Cluster c;
  const std::string marker = c.dir() + "/git-ran-a-command";
  const std::string repo = make_repo(c.dir() + "/repo", "hello");

  // The CLI (and the coordinator behind it) refuse them at submit time.
  c.write_file("dash.yml", "pipeline: dash\ncheckout: { repo: \"--upload-pack=touch " + marker +
                               "\" }\njobs:\n  read:\n    steps: [{run: cat f.txt}]\n");
  auto r = c.cli({"submit", "dash.yml"});
  EXPECT_EQ(r.code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("checkout.repo"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("starts with '-'"), std::string::npos) << r.err;
  c.write_file("ext.yml", "pipeline: ext\ncheckout: { repo: \"ext::sh -c touch% " + marker +
                              "\" }\njobs:\n  read:\n    steps: [{run: cat f.txt}]\n");
  r = c.cli({"submit", "ext.yml"});
  EXPECT_EQ(r.code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("ext:: transport"), std::string::npos) << r.err;
  c.write_file("ok.yml", "pipeline: ok\ncheckout: { repo: " + repo +
                             " }\njobs:\n  read:\n    steps: [{run: cat f.txt}]\n");
  r = c.cli({"submit", "ok.yml", "--revision=--output=" + marker});
  EXPECT_EQ(r.code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("starts with '-'"), std::string::npos) << r.err;
  EXPECT_EQ(c.scalar("SELECT count(*) FROM pipelines"), 0);

  // The agent refuses them on its own: three valid jobs, queued while no
  // agent is connected, then changed in the database.
  for (int i = 0; i < 3; ++i) ASSERT_EQ(c.cli({"submit", "ok.yml"}).code, 0);
  auto ids = c.query("SELECT id FROM jobs ORDER BY id");
  ASSERT_EQ(ids.size(), 3u);
  const int64_t bad_repo = ids[0][0].as<int64_t>(), bad_rev = ids[1][0].as<int64_t>(),
                ext_repo = ids[2][0].as<int64_t>();
  tamper(c, {{bad_repo, "jsonb_set(spec, '{checkoutRepo}', to_jsonb(" +
                            quoted("--upload-pack=touch " + marker) + "::text))"},
             {bad_rev, "jsonb_set(spec, '{revision}', to_jsonb(" + quoted("--output=" + marker) +
                           "::text))"},
             {ext_repo, "jsonb_set(spec, '{checkoutRepo}', to_jsonb(" +
                            quoted("ext::sh -c touch% " + marker) + "::text))"}});
  EXPECT_EQ(c.text("SELECT spec->>'checkoutRepo' FROM jobs WHERE id = " + std::to_string(bad_repo)),
            "--upload-pack=touch " + marker);
  c.add_agent("a", "", "m1");
  for (int64_t id : {bad_repo, bad_rev, ext_repo})
    ASSERT_TRUE(wait_for([&] { return job_ended(c, id); }, 30s)) << id;
  for (int64_t id : {bad_repo, bad_rev, ext_repo}) {
    const std::string job = std::to_string(id);
    EXPECT_EQ(c.text("SELECT state FROM jobs WHERE id = " + job), "failed");
    auto st = c.cli({"status", job});
    EXPECT_NE(st.out.find("refused by the agent"), std::string::npos) << st.out;
    auto logs = c.cli({"logs", job});
    EXPECT_NE(logs.out.find("refused:"), std::string::npos) << logs.out;
    EXPECT_EQ(c.scalar("SELECT count(*) FROM steps WHERE job_id = " + job), 0) << "a step ran";
  }
  EXPECT_NE(c.cli({"status", std::to_string(bad_repo)}).out.find("starts with '-'"),
            std::string::npos);
  EXPECT_NE(c.cli({"status", std::to_string(ext_repo)}).out.find("ext:: transport"),
            std::string::npos);
  EXPECT_FALSE(fs::exists(marker)) << "git ran the command";
  EXPECT_FALSE(fs::exists(c.agent_home("a") + "/repos")) << "a repository cache was made";
}

TEST(Hardening, WorkdirOutsideTheWorkspaceFailsUnlessTheAgentAllowsAbsolutePaths) {
  Cluster c;
  const std::string outside = c.dir() + "/outside", abs = c.dir() + "/abs";
  fs::create_directories(outside);
  fs::create_directories(abs);
  const std::string repo =
      make_repo(c.dir() + "/repo", "hello", "ln -s '" + outside + "' out && mkdir in");

  // Leading out by '..' is refused at submit time, naming the key.
  c.write_file("up.yml",
               "pipeline: up\njobs:\n  j:\n    workdir: ../..\n    steps: [{run: pwd}]\n");
  auto r = c.cli({"submit", "up.yml"});
  EXPECT_EQ(r.code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("jobs.j.workdir"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("leads out of the workspace"), std::string::npos) << r.err;

  // An absolute workdir is each agent's call; a symbolic link of the
  // repository may not lead out either.
  c.write_file("p.yml", "pipeline: wd\ncheckout: { repo: " + repo +
                            " }\njobs:\n"
                            "  strict_abs:\n    on: { labels: [role=strict] }\n    workdir: " +
                            abs + "\n    steps: [{run: pwd > " + abs +
                            "/strict.txt}]\n"
                            "  open_abs:\n    on: { labels: [role=open] }\n    workdir: " +
                            abs + "\n    steps: [{run: pwd > " + abs +
                            "/open.txt}]\n"
                            "  strict_link:\n    on: { labels: [role=strict] }\n"
                            "    workdir: out/sub\n    steps: [{run: pwd > made.txt}]\n"
                            "  strict_in:\n    on: { labels: [role=strict] }\n"
                            "    workdir: in/../in/sub\n    steps: [{run: cat ../../f.txt}]\n"
                            "  strict_up:\n    on: { labels: [role=strict] }\n"
                            "    steps: [{run: pwd}]\n");
  ASSERT_EQ(c.cli({"submit", "p.yml"}).code, 0);
  const int64_t up = c.scalar("SELECT id FROM jobs WHERE name = 'strict_up'");
  // What the CLI refuses, the agent refuses too.
  tamper(c, {{up, "jsonb_set(spec, '{workdir}', '\"../..\"')"}});
  c.add_agent("strict", "role=strict", "m1");
  c.add_agent("open", "role=open", "m2", 1, {"--allow-absolute-workdir"});
  ASSERT_TRUE(wait_for(
      [&] {
        return c.scalar("SELECT count(*) FROM jobs WHERE state IN ('queued', 'running')") == 0;
      },
      60s));
  auto state = [&](const std::string& job) {
    return c.text("SELECT state FROM jobs WHERE name = '" + job + "'");
  };
  auto status = [&](const std::string& job) {
    return c
        .cli({"status", std::to_string(c.scalar("SELECT id FROM jobs WHERE name = '" + job + "'"))})
        .out;
  };
  EXPECT_EQ(state("strict_abs"), "failed");
  EXPECT_NE(status("strict_abs").find("--allow-absolute-workdir"), std::string::npos)
      << status("strict_abs");
  EXPECT_FALSE(fs::exists(abs + "/strict.txt"));
  EXPECT_EQ(state("open_abs"), "succeeded");
  std::ifstream pwd(abs + "/open.txt");
  std::string line;
  std::getline(pwd, line);
  EXPECT_EQ(line, abs);
  EXPECT_EQ(state("strict_link"), "failed");
  EXPECT_NE(status("strict_link").find("symbolic link"), std::string::npos)
      << status("strict_link");
  EXPECT_FALSE(fs::exists(outside + "/sub")) << "the agent made a folder outside";
  EXPECT_EQ(state("strict_in"), "succeeded") << status("strict_in");
  EXPECT_EQ(state("strict_up"), "failed");
  EXPECT_NE(status("strict_up").find("leads out of the workspace"), std::string::npos)
      << status("strict_up");
}

TEST(Hardening, CloneThatDidNotFinishOrABrokenCacheIsClonedAgain) {
  Cluster c;
  c.add_agent("a", "", "m1", 2);
  const std::string repo = make_repo(c.dir() + "/repo", "version-one");
  // Two jobs of one repository at once share the cache without a race.
  c.write_file("p.yml", "pipeline: cache\ncheckout: { repo: " + repo +
                            " }\njobs:\n  one:\n    steps: [{run: cat f.txt; sleep 0.5}]\n"
                            "  two:\n    steps: [{run: cat f.txt; sleep 0.5}]\n");
  auto r = c.cli({"submit", "p.yml", "--wait"});
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_EQ(c.scalar("SELECT count(*) FROM jobs WHERE state = 'succeeded'"), 2);

  std::vector<fs::path> caches;
  for (const auto& e : fs::directory_iterator(c.agent_home("a") + "/repos"))
    if (e.is_directory()) caches.push_back(e.path());
  ASSERT_EQ(caches.size(), 1u);
  const std::string cache = caches[0].string();
  auto last_log = [&] {
    return c.cli({"logs", std::to_string(c.scalar("SELECT max(id) FROM jobs"))}).out;
  };

  // A clone killed halfway leaves its temporary folder (and the layout of
  // earlier versions its .new folder); the cache itself is garbage.
  fs::create_directories(cache + ".tmp.Xk3j9Q/objects/pack");
  std::ofstream(cache + ".tmp.Xk3j9Q/objects/pack/tmp_pack_1") << "half a pack";
  fs::create_directories(cache + ".new/objects");
  fs::remove_all(cache);
  fs::create_directories(cache);
  std::ofstream(cache + "/HEAD") << "garbage";
  ASSERT_EQ(
      std::system(("cd '" + repo + "' && echo version-two > f.txt && git commit -qam two").c_str()),
      0);
  c.write_file("one.yml", "pipeline: cache\ncheckout: { repo: " + repo +
                              " }\njobs:\n  one:\n    steps: [{run: cat f.txt}]\n");
  r = c.cli({"submit", "one.yml", "--wait"});
  EXPECT_EQ(r.code, 0) << r.out << r.err << last_log();
  std::string log = last_log();
  EXPECT_NE(log.find("version-two"), std::string::npos) << log;
  EXPECT_NE(log.find("left by a clone that did not finish"), std::string::npos) << log;
  EXPECT_NE(log.find("not a git repository: cloning again"), std::string::npos) << log;
  EXPECT_FALSE(fs::exists(cache + ".tmp.Xk3j9Q"));
  EXPECT_FALSE(fs::exists(cache + ".new"));

  // A cache missing an object while its refs are up to date: the fetch has
  // nothing to do, the checkout fails, fsck finds the cache corrupt.
  auto capture = [&](const std::string& cmd) {
    FILE* p = popen(cmd.c_str(), "r");
    char buf[64] = {};
    if (p && fgets(buf, sizeof buf, p)) buf[40] = 0;
    if (p) pclose(p);
    return std::string(buf);
  };
  const std::string two = capture("git -C '" + repo + "' rev-parse HEAD");
  const std::string blob = capture("git -C '" + repo + "' rev-parse HEAD:f.txt");
  ASSERT_EQ(blob.size(), 40u);
  ASSERT_TRUE(fs::remove(cache + "/objects/" + blob.substr(0, 2) + "/" + blob.substr(2)));
  r = c.cli({"submit", "one.yml", "--wait", "--revision", two});
  EXPECT_EQ(r.code, 0) << r.out << r.err << last_log();
  log = last_log();
  EXPECT_NE(log.find("version-two"), std::string::npos) << log;
  EXPECT_NE(log.find("the repository cache is corrupt: cloning again"), std::string::npos) << log;
  EXPECT_EQ(log.find("has no revision"), std::string::npos) << log;

  // A revision it does not have still fails, saying so.
  r = c.cli({"submit", "one.yml", "--wait", "--revision", std::string(40, 'e')});
  EXPECT_NE(r.code, 0);
  log = last_log();
  EXPECT_NE(log.find("has no revision"), std::string::npos) << log;
  EXPECT_EQ(log.find("cloning again"), std::string::npos) << log;
}

}  // namespace
}  // namespace yardstick::test
