// The store on a real PostgreSQL (coordinator/store/): a stored job that
// no longer decodes costs that job, never the coordinator's start; the
// gate reads variant indexes past 2,147 (their order no longer overflows
// an integer); a log is cut to its byte limit by the server.
#include <gtest/gtest.h>

#include <pqxx/pqxx>

#include "common/job_spec.hpp"
#include "coordinator/store/pg_store.hpp"
#include "tests/integration/harness.hpp"

namespace yardstick::test {
namespace {

class StoreTest : public ::testing::Test {
 protected:
  StoreTest() : dsn(create_test_database()), writer(dsn), reader(dsn) {
    writer.session.connect();
    migrate(writer.session);
  }
  void sql(const std::string& statement) {
    pqxx::connection c(dsn);
    pqxx::work w(c);
    w.exec(statement);
    w.commit();
  }
  int64_t scalar(const std::string& query) {
    pqxx::connection c(dsn);
    pqxx::work w(c);
    return w.exec1(query)[0].as<int64_t>();
  }
  // A pipeline with one queued job of `spec`; the job's id.
  uint64_t job(const JobAssignment& spec, JobState state = JobState::kQueued) {
    writer.session.begin();
    const uint64_t pipeline =
        writer.pipelines.insert_pipeline("p", "", "", "me", "p.yml", "pipeline: p", std::nullopt);
    Job j;
    j.pipeline_id = pipeline;
    j.name = "j";
    j.state = state;
    j.spec = spec;
    const uint64_t id = writer.pipelines.insert_job(j);
    writer.session.commit();
    return id;
  }
  // A pipeline with one benchmark job in `state`; the job's id.
  uint64_t bench_job(JobState state) {
    JobAssignment spec;
    spec.kind = JobKind::kBench;
    spec.bench = BenchSpec{};
    return job(spec, state);
  }
  // Job `id` (attempt 1) moved from `from` to `to` in the open turn.
  void transition(uint64_t id, JobState from, JobState to, const std::string& message,
                  int64_t ended_at_us = 0) {
    Job j;
    j.id = id;
    j.attempt = 1;
    j.state = to;
    j.ended_at_us = ended_at_us;
    writer.pipelines.persist_transition(j, from, message);
  }

  std::string dsn;
  PgWriter writer;
  PgReader reader;
};

TEST_F(StoreTest, AStoredJobThatDoesNotDecodeIsLeftOutOfTheReloadAndFailedWithTheReason) {
  const uint64_t good = job({});
  const uint64_t bad = job({});
  sql("UPDATE jobs SET spec = '{\"steps\": 5}' WHERE id = " + std::to_string(bad));
  writer.session.begin();
  LoadedJobs loaded = writer.pipelines.load_active_jobs();
  ASSERT_EQ(loaded.jobs.size(), 1u);
  EXPECT_EQ(loaded.jobs[0].id, good);
  ASSERT_EQ(loaded.unloadable.size(), 1u);
  EXPECT_EQ(loaded.unloadable[0].id, bad);
  writer.pipelines.fail_unloadable(loaded.unloadable[0]);
  writer.session.commit();
  EXPECT_EQ(scalar("SELECT count(*) FROM jobs WHERE state = 'failed' AND message LIKE"
                   " 'the coordinator cannot load this job: job spec%' AND id = " +
                   std::to_string(bad)),
            1);
  EXPECT_EQ(scalar("SELECT count(*) FROM refusals WHERE what = 'stored job'"), 1);
}

TEST_F(StoreTest, ATurnsTransitionsGoInTogetherEachJobEndsInItsLastStateAndEveryEventIsKept) {
  const uint64_t a = job({}), b = job({});
  writer.session.begin();
  JobState from = JobState::kQueued;
  for (JobState to : {JobState::kAssigned, JobState::kRunning, JobState::kSucceeded}) {
    transition(a, from, to, "to " + std::string(to_string(to)),
               to == JobState::kSucceeded ? 1'700'000'000'000'000 : 0);
    from = to;
  }
  transition(b, JobState::kQueued, JobState::kCancelled, "cancelled by me");
  // A job the database does not have: its event is refused (foreign key),
  // and it costs that transition only.
  transition(999'999'999, JobState::kAssigned, JobState::kRunning, "nobody's");
  writer.session.commit();
  EXPECT_EQ(scalar("SELECT count(*) FROM jobs WHERE id = " + std::to_string(a) +
                   " AND state = 'succeeded' AND ended_at = to_timestamp(1700000000)"),
            1);
  EXPECT_EQ(scalar("SELECT count(*) FROM jobs WHERE id = " + std::to_string(b) +
                   " AND state = 'cancelled' AND message = ''"),
            1);
  // Every event of job a, in the order made.
  pqxx::connection c(dsn);
  pqxx::work w(c);
  auto events = w.exec(
      "SELECT from_state || '>' || to_state || ':' || message FROM job_events WHERE job_id = " +
      std::to_string(a) + " AND from_state <> '' ORDER BY id");
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0][0].as<std::string>(), "queued>assigned:to assigned");
  EXPECT_EQ(events[1][0].as<std::string>(), "assigned>running:to running");
  EXPECT_EQ(events[2][0].as<std::string>(), "running>succeeded:to succeeded");
  EXPECT_EQ(w.exec1("SELECT count(*) FROM job_events WHERE job_id = 999999999")[0].as<int>(), 0);
}

// A turn's transitions go in one round trip with their savepoint, each
// value a quoted literal. A text the connection cannot quote (bytes that
// are not UTF-8) takes the path of parameters, where the server refuses
// it: that transition alone is dropped, in the same turn as a message's
// own savepoint, and a quote or backslash in a text is stored as sent.
TEST_F(StoreTest, ATransitionWhoseTextIsNotUtf8CostsThatTransitionAloneAndQuotesAreKept) {
  const uint64_t a = job({}), b = job({});
  writer.session.begin();
  auto refused = writer.session.guarded([&] {
    transition(a, JobState::kQueued, JobState::kAssigned, "it's \\ a \"quoted\" $1 text");
    transition(b, JobState::kQueued, JobState::kAssigned, "bad \xff\xfe bytes");
  });
  EXPECT_FALSE(refused.has_value());
  writer.session.commit();
  pqxx::connection c(dsn);
  pqxx::work w(c);
  EXPECT_EQ(w.exec1("SELECT message FROM job_events WHERE job_id = " + std::to_string(a) +
                    " AND to_state = 'assigned'")[0]
                .as<std::string>(),
            "it's \\ a \"quoted\" $1 text");
  EXPECT_EQ(w.exec1("SELECT state FROM jobs WHERE id = " + std::to_string(a))[0].as<std::string>(),
            "assigned");
  EXPECT_EQ(w.exec1("SELECT state FROM jobs WHERE id = " + std::to_string(b))[0].as<std::string>(),
            "queued");
  EXPECT_EQ(w.exec1("SELECT count(*) FROM job_events WHERE job_id = " + std::to_string(b) +
                    " AND to_state = 'assigned'")[0]
                .as<int>(),
            0);
}

// A turn's samples go in as one statement. A row the server refuses
// costs that row alone, and the next turn's batch goes in whole; a sample
// sent twice (an acknowledgement lost) is stored once, and a quote in a
// text is kept.
TEST_F(StoreTest, ASampleTheServerRefusesCostsThatSampleAloneAndTheNextBatchStillGoesIn) {
  const uint64_t id = bench_job(JobState::kRunning);
  sql("CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
      "IF NEW.idx = 3 THEN RAISE EXCEPTION 'refused by a test' USING ERRCODE = 'check_violation'; "
      "END IF; RETURN NEW; END $$; "
      "CREATE TRIGGER refuse BEFORE INSERT ON samples FOR EACH ROW EXECUTE FUNCTION refuse()");
  auto turn = [&](uint32_t from, uint32_t to) {
    writer.session.begin();
    for (uint32_t i = from; i < to; ++i) {
      StepResult run;
      run.wall_ns = 1'000'000 * (i + 1);
      run.started_at_us = 1'700'000'000'000'000;
      writer.results.record_sample({id, 1, i + 1}, 0, "base \"quoted\"", i, run);
    }
    writer.session.commit();
  };
  turn(0, 6);
  EXPECT_EQ(scalar("SELECT count(*) FROM samples WHERE job_id = " + std::to_string(id)), 5);
  EXPECT_EQ(scalar("SELECT count(*) FROM samples WHERE idx = 3"), 0);
  turn(4, 10);  // 4 and 5 again
  EXPECT_EQ(scalar("SELECT count(*) FROM samples WHERE job_id = " + std::to_string(id)), 9);
  EXPECT_EQ(scalar("SELECT count(*) FROM samples WHERE variant = 'base \"quoted\"' AND "
                   "wall_s * 1000 = idx + 1"),
            9);
}

TEST_F(StoreTest, TheGateReadsVariantIndexesPastTwoThousand) {
  const uint64_t id = bench_job(JobState::kSucceeded);
  sql("INSERT INTO samples (job_id, attempt, variant_idx, variant, idx, wall_s, user_s, sys_s,"
      " max_rss_kb, exit_code, signal, at) SELECT " +
      std::to_string(id) +
      ", 1, v, 'v' || v, 0, 0.1, 0.1, 0, 1, 0, 0, now() FROM generate_series(2146, 2150) v");
  writer.session.begin();
  GateFacts facts;
  ASSERT_NO_THROW(facts = writer.evaluation.gate_facts(id));
  writer.session.commit();
  EXPECT_TRUE(facts.found);
  EXPECT_EQ(facts.samples.rows.size(), 5u);
}

TEST_F(StoreTest, ALogIsCutToItsByteLimitByTheServerAndAlwaysGivesOneChunk) {
  const uint64_t id = job({});
  // Ten chunks of 100 KiB.
  sql("INSERT INTO log_chunks (job_id, attempt, seq, stream, data, at) SELECT " +
      std::to_string(id) +
      ", 1, s, 'stdout', convert_to(repeat('x', 102400), 'UTF8'), now()"
      " FROM generate_series(1, 10) s");
  reader.session.begin();
  auto two = reader.reads.logs(id, 0, 250 * 1024);
  auto one = reader.reads.logs(id, 0, 10);  // smaller than any chunk: still one
  auto rest = reader.reads.logs(id, two.back().id, 1 << 30);
  reader.session.commit();
  ASSERT_EQ(two.size(), 2u);
  EXPECT_EQ(two[0].data.size(), 102400u);
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].id, two[0].id);
  EXPECT_EQ(rest.size(), 8u);
}

}  // namespace
}  // namespace yardstick::test
