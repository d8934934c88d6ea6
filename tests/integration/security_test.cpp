// No one let in: CURVE on both sockets, keys listed per role, names bound
// to keys, read and submit roles, keys reloaded on SIGHUP, and --insecure
// only on loopback. Real coordinator, agents and CLI.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "tests/integration/harness.hpp"

namespace yardstick::test {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

bool log_has(Process& p, const std::string& text, std::chrono::milliseconds within = 10s) {
  return wait_for([&] { return p.log().find(text) != std::string::npos; }, within);
}

int exit_code(int status) {
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(Security, UnlistedAndWrongSocketKeysAreRefusedAndLogged) {
  Cluster c;
  c.add_agent("real", "", "m1");
  const std::string real = c.agent_name("real");

  // An unlisted client key.
  auto stranger = c.make_key("stranger");
  auto r = c.cli({"--key", c.key_file("stranger"), "agents"});
  EXPECT_EQ(r.code, 4) << r.err;
  EXPECT_NE(r.err.find("refused this key"), std::string::npos) << r.err;
  EXPECT_TRUE(log_has(c.coordinator(), "with key " + stranger.public_key +
                                           ": key not listed in the authorized clients file"))
      << c.coordinator().log();

  // An agent key on the clients socket.
  r = c.cli({"--key", c.key_file("agent-" + real), "agents"});
  EXPECT_EQ(r.code, 4) << r.err;
  EXPECT_TRUE(log_has(c.coordinator(), "agent key of '" + real + "' on the clients socket"));

  // A client key on the agents socket, and an unlisted agent key: neither
  // agent registers; each says why.
  Process as_client({binary("yardstick-agent"), "--coordinator", c.agents_endpoint(), "--name",
                     "as-client", "--home", c.dir() + "/h1", "--key", c.key_file("submitter"),
                     "--coordinator-key", c.coordinator_public_key_file()},
                    c.dir() + "/as-client.log");
  c.make_key("unlisted-agent");
  Process unlisted({binary("yardstick-agent"), "--coordinator", c.agents_endpoint(), "--name",
                    "unlisted", "--home", c.dir() + "/h2", "--key", c.key_file("unlisted-agent"),
                    "--coordinator-key", c.coordinator_public_key_file()},
                   c.dir() + "/unlisted.log");
  EXPECT_TRUE(log_has(as_client, "refused this key")) << as_client.log();
  EXPECT_TRUE(log_has(unlisted, "refused this key")) << unlisted.log();
  EXPECT_TRUE(log_has(c.coordinator(), "client key of 'submitter' on the agents socket"));
  EXPECT_TRUE(log_has(c.coordinator(), "key not listed in the authorized agents file"));
  auto agents = c.cli({"agents", "--json"});
  ASSERT_EQ(agents.code, 0) << agents.err;
  EXPECT_EQ(agents.out.find("as-client"), std::string::npos) << agents.out;
  EXPECT_EQ(agents.out.find("unlisted"), std::string::npos) << agents.out;
  EXPECT_EQ(c.scalar("SELECT count(*) FROM agents"), 1);
}

TEST(Security, AListedKeyCannotPoseAsAnotherAgentAndTheRealOneKeepsItsJob) {
  Cluster c;
  c.add_agent("real", "", "m1");
  const std::string real = c.agent_name("real");
  c.write_file("long.yml",
               "pipeline: p\njobs:\n  long:\n    steps: [{run: \"sleep 4; echo finished-ok\"}]\n");
  auto r = c.cli({"submit", "long.yml"});
  ASSERT_EQ(r.code, 0) << r.err;
  ASSERT_TRUE(wait_for([&] { return c.text("SELECT state FROM jobs") == "running"; }, 20s));

  // Another listed agent key presents the real agent's name.
  c.authorize_agent("impostor");
  Process impostor({binary("yardstick-agent"), "--coordinator", c.agents_endpoint(), "--name", real,
                    "--home", c.dir() + "/impostor", "--key", c.key_file("agent-impostor"),
                    "--coordinator-key", c.coordinator_public_key_file()},
                   c.dir() + "/impostor.log");
  EXPECT_TRUE(log_has(impostor, "this key belongs to agent 'impostor'")) << impostor.log();
  // After three refusals in a row it gives up, saying why.
  EXPECT_EQ(exit_code(impostor.wait(30s)), 2) << impostor.log();
  EXPECT_TRUE(log_has(c.coordinator(), "refused a hello naming agent '" + real +
                                           "' from the key of agent 'impostor'"));

  // The real agent was never evicted and finishes its job.
  ASSERT_TRUE(wait_for([&] { return c.text("SELECT state FROM jobs") == "succeeded"; }, 30s))
      << c.coordinator().log();
  EXPECT_EQ(c.scalar("SELECT attempt FROM jobs"), 1);
  auto id = c.scalar("SELECT id FROM jobs");
  EXPECT_NE(c.stored_log(id, 1).find("finished-ok"), std::string::npos);
  size_t registrations = 0;
  const std::string log = c.coordinator().log();
  for (size_t at = 0; (at = log.find("agent " + real + " registered:", at)) != std::string::npos;
       ++at)
    ++registrations;
  EXPECT_EQ(registrations, 1u);
}

TEST(Security, AnAgentGivenTheWrongCoordinatorKeyDoesNotConnectAndSaysSo) {
  Cluster c;
  c.authorize_agent("lost");
  auto other = c.make_key("not-the-coordinator");
  Process agent(
      {binary("yardstick-agent"), "--coordinator", c.agents_endpoint(), "--name", "lost", "--home",
       c.dir() + "/h", "--key", c.key_file("agent-lost"), "--coordinator-key", other.public_key},
      c.dir() + "/lost.log");
  EXPECT_TRUE(
      log_has(agent, "the coordinator key this side was given is probably not its public key"))
      << agent.log();
  std::this_thread::sleep_for(1s);
  EXPECT_TRUE(agent.running());
  EXPECT_EQ(c.scalar("SELECT count(*) FROM agents"), 0);
  // The CLI likewise, at once rather than after its timeout.
  auto r = c.cli({"--coordinator-key", other.public_key, "agents"});
  EXPECT_EQ(r.code, 3) << r.err;
  EXPECT_NE(r.err.find("probably not its public key"), std::string::npos) << r.err;
}

TEST(Security, AReadKeyReadsButCannotSubmitCancelOrDrain) {
  Cluster c;
  c.add_agent("a", "", "m1");
  c.write_file("p.yml", "pipeline: p\njobs:\n  j:\n    steps: [{run: \"sleep 2\"}]\n");
  const std::vector<std::string> as_reader = {"--key", c.key_file("reader")};
  auto with = [&](std::vector<std::string> args) {
    args.insert(args.begin(), as_reader.begin(), as_reader.end());
    return c.cli(args);
  };
  auto r = with({"submit", "p.yml"});
  EXPECT_EQ(r.code, 4) << r.err;
  EXPECT_NE(r.err.find("the key 'reader' has the read role: submit, cancel and drain need a key "
                       "with the submit role"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(c.scalar("SELECT count(*) FROM pipelines"), 0);

  r = c.cli({"submit", "p.yml", "--json"});  // the submit key
  ASSERT_EQ(r.code, 0) << r.err;
  const auto pipeline = nlohmann::json::parse(r.out)["pipeline_id"].get<uint64_t>();
  EXPECT_EQ(c.text("SELECT submitter FROM pipelines").rfind("submitter", 0), 0u)
      << "the key's name says who submitted: " << c.text("SELECT submitter FROM pipelines");

  r = with({"cancel", std::to_string(pipeline)});
  EXPECT_EQ(r.code, 4) << r.err;
  r = with({"drain", c.agent_name("a")});
  EXPECT_EQ(r.code, 4) << r.err;
  EXPECT_EQ(c.scalar("SELECT count(*) FROM agents WHERE draining"), 0);
  EXPECT_TRUE(log_has(c.coordinator(), "refused a write from client 'reader' (role read)"));

  // Reads work.
  EXPECT_EQ(with({"status", std::to_string(pipeline)}).code, 0);
  EXPECT_EQ(with({"agents"}).code, 0);
  EXPECT_EQ(with({"report", "over_budget", "-v", "pipeline_name=p"}).code, 0);
  ASSERT_TRUE(wait_for([&] { return c.text("SELECT state FROM jobs") == "succeeded"; }, 30s));
}

TEST(Security, KeysReloadedOnSighupAdmitNewKeysAndRevokeOldOnesWithoutARestart) {
  Cluster c;
  auto newcomer = c.make_key("newcomer");
  EXPECT_EQ(c.cli({"--key", c.key_file("newcomer"), "agents"}).code, 4);
  const pid_t pid = c.coordinator().pid();

  c.append_and_reload(c.authorized_clients_file(), newcomer.public_key + " newcomer read");
  auto r = c.cli({"--key", c.key_file("newcomer"), "agents"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(c.coordinator().pid(), pid);

  // A malformed file is refused on reload: the lists in force stay, and the
  // log names the file and line.
  std::ofstream(c.authorized_clients_file(), std::ios::app) << "garbage\n";
  c.reload_keys();
  EXPECT_TRUE(log_has(c.coordinator(), "authorized keys NOT reloaded, the previous lists stay: " +
                                           c.authorized_clients_file() +
                                           ":5: expected KEY NAME ROLE"))
      << c.coordinator().log();
  EXPECT_EQ(c.cli({"--key", c.key_file("newcomer"), "agents"}).code, 0);

  // Removing a key revokes it at once, also on a connection already open:
  // here, a new CLI process; the per-message check is the same.
  std::string text;
  {
    std::ifstream in(c.authorized_clients_file());
    for (std::string line; std::getline(in, line);)
      if (line.find("newcomer") == std::string::npos && line != "garbage") text += line + "\n";
  }
  std::ofstream(c.authorized_clients_file(), std::ios::trunc) << text;
  c.reload_keys();
  r = c.cli({"--key", c.key_file("newcomer"), "agents"});
  EXPECT_EQ(r.code, 4) << r.err;
}

TEST(Security, CoordinatorWithoutKeysOrWithABadKeyFileRefusesToStart) {
  Cluster c;
  Process bare({binary("yardstick-coordinator"), "--db", c.dsn(), "--agents", "tcp://127.0.0.1:*",
                "--clients", "tcp://127.0.0.1:*"},
               c.dir() + "/bare.log");
  EXPECT_EQ(exit_code(bare.wait(10s)), 2);
  EXPECT_NE(bare.log().find("CURVE is on by default"), std::string::npos) << bare.log();

  const std::string bad = c.write_file("bad-agents.txt", "# agents\nnot-a-key build-1\n");
  Process malformed(
      {binary("yardstick-coordinator"), "--db", c.dsn(), "--agents", "tcp://127.0.0.1:*",
       "--clients", "tcp://127.0.0.1:*", "--secret-key", c.key_file("coordinator"),
       "--authorized-agents", bad, "--authorized-clients", c.authorized_clients_file()},
      c.dir() + "/malformed.log");
  EXPECT_EQ(exit_code(malformed.wait(10s)), 2);
  EXPECT_NE(malformed.log().find(bad + ":2: 'not-a-key' is not a public key"), std::string::npos)
      << malformed.log();

  fs::permissions(c.key_file("coordinator"), fs::perms::group_read | fs::perms::others_read,
                  fs::perm_options::add);
  Process readable({binary("yardstick-coordinator"), "--db", c.dsn(), "--agents",
                    "tcp://127.0.0.1:*", "--clients", "tcp://127.0.0.1:*", "--secret-key",
                    c.key_file("coordinator"), "--authorized-agents", c.authorized_agents_file(),
                    "--authorized-clients", c.authorized_clients_file()},
                   c.dir() + "/readable.log");
  EXPECT_EQ(exit_code(readable.wait(10s)), 2);
  EXPECT_NE(readable.log().find("must not be readable by others (mode 0644"), std::string::npos)
      << readable.log();
}

TEST(Security, InsecureOnlyOnLoopbackAndItSaysSo) {
  Cluster::Options options;
  options.insecure = true;
  Cluster c(options);
  EXPECT_TRUE(log_has(c.coordinator(), "--insecure: no encryption and no authentication"));
  c.add_agent("a", "", "m1");
  c.write_file("p.yml", "pipeline: p\njobs:\n  j:\n    steps: [{run: \"echo insecure-ok\"}]\n");
  auto r = c.cli({"submit", "p.yml", "--wait"});
  EXPECT_EQ(r.code, 0) << r.err;

  // Anywhere but loopback or ipc://, --insecure is refused by all three.
  Process coordinator({binary("yardstick-coordinator"), "--db", c.dsn(), "--insecure", "--agents",
                       "tcp://0.0.0.0:*", "--clients", "tcp://127.0.0.1:*"},
                      c.dir() + "/wide.log");
  EXPECT_EQ(exit_code(coordinator.wait(10s)), 2);
  EXPECT_NE(coordinator.log().find("--insecure is accepted only on loopback or ipc:// endpoints, "
                                   "not tcp://0.0.0.0:*"),
            std::string::npos)
      << coordinator.log();
  Process agent({binary("yardstick-agent"), "--coordinator", "tcp://192.0.2.1:7401", "--insecure",
                 "--home", c.dir() + "/h"},
                c.dir() + "/wide-agent.log");
  EXPECT_EQ(exit_code(agent.wait(10s)), 2);
  EXPECT_NE(agent.log().find("--insecure is accepted only for a loopback or ipc:// coordinator"),
            std::string::npos)
      << agent.log();
  r = c.cli({"--coordinator", "tcp://192.0.2.1:7400", "agents"});
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find("--insecure is accepted only for a loopback or ipc:// coordinator"),
            std::string::npos)
      << r.err;

  // An insecure CLI against a CURVE coordinator is told, not left waiting.
  Cluster secure;
  r = c.cli({"--coordinator", secure.clients_endpoint(), "agents"});
  EXPECT_EQ(r.code, 3) << r.err;
  EXPECT_NE(r.err.find("--insecure"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace yardstick::test
