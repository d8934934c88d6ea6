#include <map>
#include <pqxx/pqxx>
#include <set>
#include <stdexcept>

#include "coordinator/store/pg_batch.hpp"
#include "coordinator/store/pg_store.hpp"

namespace yardstick {

namespace {
constexpr char kHex[] = "0123456789abcdef";

struct ChunkRow {
  ResultKey key;
  std::string stream;
  int32_t step_index;
  std::string data;
  int64_t at_us;
};

UnnestInsert<ChunkRow> chunk_insert() {
  using L = ChunkRow;
  auto n = [](auto f) { return [f](const L& l) { return std::optional<std::string>(num(f(l))); }; };
  UnnestInsert<L> ins("log_chunks", "ON CONFLICT DO NOTHING");
  ins.column("job_id", "bigint", n([](const L& l) { return l.key.job_id; }))
      .column("attempt", "int", n([](const L& l) { return l.key.attempt; }))
      .column("seq", "bigint", n([](const L& l) { return l.key.seq; }))
      .column("stream", "text", [](const L& l) { return std::optional<std::string>(l.stream); })
      .column("step_idx", "int", n([](const L& l) { return l.step_index; }), "NULLIF(step_idx, -1)")
      .column(
          "data", "text", [](const L& l) { return std::optional<std::string>(hex(l.data)); },
          "decode(data, 'hex')")
      .column("at", "float8", n([](const L& l) { return l.at_us; }), "to_timestamp(at / 1e6)");
  return ins;
}
}  // namespace

std::string hex(const std::string& data) {
  std::string out(data.size() * 2, '0');
  for (size_t i = 0; i < data.size(); ++i) {
    const auto c = static_cast<unsigned char>(data[i]);
    out[2 * i] = kHex[c >> 4];
    out[2 * i + 1] = kHex[c & 15];
  }
  return out;
}

// The chunks of a turn, the drops of a capped log's oldest tail chunks and
// the markers' texts, written in that order at flush.
struct PgLogs::Chunks final : PgBatch {
  struct Marker {
    std::string text;
    uint64_t cut_bytes, cut_chunks;
  };
  UnnestInsert<ChunkRow> insert = chunk_insert();
  std::vector<ChunkRow> rows;
  std::set<ResultKey> keys;  // of `rows`: a chunk sent twice in one turn goes in once
  std::map<std::pair<uint64_t, uint32_t>, std::vector<uint64_t>> drops;
  std::map<std::pair<uint64_t, uint32_t>, Marker> markers;

  void flush(pqxx::dbtransaction& tx) override {
    auto batch = std::move(rows);
    auto dropped = std::move(drops);
    auto marked = std::move(markers);
    discard();
    insert.insert_keeping_good_rows(tx, batch, "log chunks", [](const ChunkRow& r) {
      return "job " + std::to_string(r.key.job_id) + " seq " + std::to_string(r.key.seq);
    });
    for (const auto& [job, seqs] : dropped) {
      std::string list = "{";
      for (size_t i = 0; i < seqs.size(); ++i) list += (i ? "," : "") + num(seqs[i]);
      list += "}";
      tx.exec_params(
          "DELETE FROM log_chunks WHERE job_id = $1 AND attempt = $2 AND seq = ANY($3::bigint[])",
          job.first, job.second, list);
    }
    for (const auto& [job, m] : marked) {
      tx.exec_params(
          "UPDATE log_chunks SET data = $4 WHERE job_id = $1 AND attempt = $2 AND seq = $3",
          job.first, job.second, kLogMarkerSeq, pqxx::binarystring(m.text));
      tx.exec_params(
          "INSERT INTO log_cuts (job_id, attempt, cut_bytes, cut_chunks) VALUES ($1, $2, $3, $4)"
          " ON CONFLICT (job_id, attempt) DO UPDATE SET cut_bytes = EXCLUDED.cut_bytes,"
          " cut_chunks = EXCLUDED.cut_chunks",
          job.first, job.second, m.cut_bytes, m.cut_chunks);
    }
  }
  void discard() noexcept override {
    rows.clear();
    keys.clear();
    drops.clear();
    markers.clear();
  }
  size_t size() const override { return rows.size(); }
  // Drops and markers are not rewound: they are only written after every
  // check of the message that made them (see ResultIntake).
  void truncate(size_t n) override {
    while (rows.size() > n) {
      keys.erase(rows.back().key);
      rows.pop_back();
    }
  }
};

PgLogs::PgLogs(PgSession& session) : s_(session), chunks_(std::make_unique<Chunks>()) {
  s_.add_batch(chunks_.get());
}

PgLogs::~PgLogs() = default;

void PgLogs::record_log_chunk(const ResultKey& key, const std::string& stream, int32_t step_index,
                              const std::string& data, int64_t at_us) {
  if (!chunks_->keys.insert(key).second) return;  // sent twice in one turn
  chunks_->rows.push_back({key, stream, step_index, data, at_us});
}

void PgLogs::drop_log_chunks(uint64_t job_id, uint32_t attempt, const std::vector<uint64_t>& seqs) {
  std::set<uint64_t> drop(seqs.begin(), seqs.end());
  auto& rows = chunks_->rows;
  // Chunks of this turn that are dropped before they were written are never written.
  for (auto it = rows.begin(); it != rows.end();) {
    if (it->key.job_id == job_id && it->key.attempt == attempt && drop.count(it->key.seq)) {
      chunks_->keys.erase(it->key);
      drop.erase(it->key.seq);
      it = rows.erase(it);
    } else {
      ++it;
    }
  }
  auto& list = chunks_->drops[{job_id, attempt}];
  list.insert(list.end(), drop.begin(), drop.end());
  if (list.empty()) chunks_->drops.erase({job_id, attempt});
}

void PgLogs::put_log_marker(uint64_t job_id, uint32_t attempt, const std::string& text,
                            int64_t at_us, uint64_t cut_bytes, uint64_t cut_chunks) {
  const ResultKey key{job_id, attempt, kLogMarkerSeq};
  // The marker row takes its place (its id) in the log now; its text is
  // rewritten as more is cut.
  if (!chunks_->keys.count(key)) record_log_chunk(key, "system", -1, text, at_us);
  chunks_->markers[{job_id, attempt}] = {text, cut_bytes, cut_chunks};
}

LogLayout PgLogs::log_layout(uint64_t job_id, uint32_t attempt) {
  s_.flush();
  LogLayout out;
  pg_call(s_, [&] {
    for (const auto& r : s_.tx().exec_params(
             "SELECT seq, octet_length(data) FROM log_chunks WHERE job_id = $1 AND attempt = $2"
             " ORDER BY id",
             job_id, attempt)) {
      const auto seq = r[0].as<uint64_t>();
      if (seq == kLogMarkerSeq) {
        out.has_marker = true;
      } else {
        out.chunks.emplace_back(seq, r[1].as<uint64_t>());
        if (!out.has_marker) out.head_chunks = out.chunks.size();
      }
    }
    auto cut = s_.tx().exec_params(
        "SELECT cut_bytes, cut_chunks FROM log_cuts WHERE job_id = $1 AND attempt = $2", job_id,
        attempt);
    if (!cut.empty()) {
      out.cut_bytes = cut[0][0].as<uint64_t>();
      out.cut_chunks = cut[0][1].as<uint64_t>();
    }
  });
  return out;
}

std::optional<int> PgLogs::keep_log_months(uint64_t keep_ms) {
  // Making and dropping a month lock the parent table: in the turn's
  // transaction, a reader holding it (a long report) must not stall the
  // turn, so the wait is short and the work is tried again later.
  std::optional<int> dropped;
  try {
    s_.in_savepoint("log_months", [&] {
      auto& tx = s_.tx();
      const std::string lock_timeout = tx.exec1("SHOW lock_timeout")[0].as<std::string>();
      tx.exec("SELECT set_config('lock_timeout', '200ms', true)");
      tx.exec(
          "SELECT yardstick_log_month(now()), yardstick_log_month(now() + interval '1 month'),"
          " yardstick_log_month(now() + interval '2 months')");
      dropped = 0;
      if (keep_ms > 0)
        dropped = tx.exec_params1(
                        "SELECT yardstick_drop_log_months(now() - $1 * interval '1 millisecond')",
                        static_cast<int64_t>(keep_ms))[0]
                      .as<int>();
      tx.exec_params("SELECT set_config('lock_timeout', $1, true)", lock_timeout);
    });
  } catch (const StoreError& e) {
    if (e.sqlstate() != "55P03") throw;  // lock_not_available
    return std::nullopt;
  }
  return dropped;
}

}  // namespace yardstick
