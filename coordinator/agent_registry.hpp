// The agents the coordinator hears from: one session per agent name, found
// by name or by ZeroMQ route, with the process incarnation it registered
// from and its lease. Pure bookkeeping with a clock: unit-tested alone.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <queue>
#include <set>
#include <string>
#include <vector>

#include "common/types.hpp"

namespace yardstick {

struct AgentSession {
  std::string route;
  std::string name;
  std::string incarnation;
  bool draining_self = false;   // the agent said so (SIGTERM)
  bool draining_admin = false;  // `yardstick drain`
  bool draining() const { return draining_self || draining_admin; }
  uint64_t agent_id = 0;
  uint64_t machine_id = 0;
  std::string machine_name;
  Labels labels;
  uint32_t slots = 1;
  int64_t last_seen_ms = 0;     // steady clock; set through AgentRegistry::seen
  int64_t last_touched_ms = 0;  // last_seen written to the store
  int64_t lease_key_ms = 0;     // the deadline its lease entry was queued with
  int64_t interval_ms = 0;      // heartbeat interval and lease last told to it
  int64_t lease_ms = 0;         // (0: the registry's default)
  // Owed to the agent after the turn's commit; added through the
  // registry (add_ack, add_abandon), which lists the sessions that owe.
  std::vector<ResultKey> acks;  // committed this turn
  std::set<JobRef> abandon;     // attempts to tell it to drop
  bool owing = false;           // listed in the registry's owing list
  // Results the agent holds that are not acknowledged yet, as its last
  // heartbeat said (bounded at intake: bounds.hpp).
  uint64_t spool_backlog = 0;
};

class AgentRegistry {
 public:
  // What a hello from `name` is, given the sessions now.
  enum class Admission {
    kNew,      // no session of that name
    kRepeat,   // the same process again (same incarnation): harmless
    kReplace,  // a new process (or a silent old one): it takes the name over
    kReject,   // another live process holds the name
  };
  // A session heard from within `alive_ms` is live.
  Admission admit(const std::string& name, const std::string& incarnation, const std::string& route,
                  int64_t now_ms, int64_t alive_ms) const;

  // Installs `session` under its name and route, replacing any session of
  // that name; acknowledgements the old one still owed are carried over.
  AgentSession& put(AgentSession session);
  void remove(const std::string& name);
  void clear();

  AgentSession* find(const std::string& name);
  const AgentSession* find(const std::string& name) const;
  AgentSession* by_route(const std::string& route);
  // The name registered from `route`, or `fallback`.
  std::string name_of(const std::string& route, const std::string& fallback) const;

  // The agent was heard from at `now_ms`. Its last_seen is due in the
  // store once `touch_every_ms` passed since it was last written there.
  void seen(AgentSession& s, int64_t now_ms, int64_t touch_every_ms);
  // The agents' ids whose last_seen is due in the store; the list is then empty.
  std::vector<uint64_t> take_touched();

  // Names of the sessions silent for longer than their lease (`lease_ms`
  // for a session without one); they stay until removed. Each session has
  // one entry in a queue ordered by the deadline it was queued with; a
  // heartbeat does not move it. A call pops the entries due: an agent
  // heard from since is queued again with its later deadline. So a call
  // costs O(k log n) for the k entries due, and each live agent one pop
  // and one push per lease, however often it heartbeats.
  std::vector<std::string> expired(int64_t now_ms, int64_t lease_ms);
  // The coordinator did not serve for `gap_ms`: nobody is judged on it.
  void extend(int64_t gap_ms);

  // Agents drained with `yardstick drain` (kept in the store; they may be
  // connected or not). A session of such an agent is draining_admin.
  void set_admin_draining(std::set<std::string> names) { admin_draining_ = std::move(names); }
  void set_admin_draining(const std::string& name, bool draining);
  bool admin_draining(const std::string& name) const { return admin_draining_.count(name) > 0; }

  // What a session owes its agent after the commit. A turn then visits
  // only the sessions that owe (one per result sender), not the fleet.
  void add_ack(AgentSession& s, const ResultKey& key);
  bool add_abandon(AgentSession& s, const JobRef& ref);  // false: listed already
  // Each session that owes something, once; the list is then empty.
  template <typename F>
  void take_owing(F&& visit) {
    for (const auto& name : owing_)
      if (AgentSession* s = find(name); s && s->owing) {
        s->owing = false;
        visit(*s);
      }
    owing_.clear();
  }

  std::map<std::string, AgentSession>& sessions() { return sessions_; }
  const std::map<std::string, AgentSession>& sessions() const { return sessions_; }

 private:
  std::map<std::string, AgentSession> sessions_;  // by agent name
  std::map<std::string, std::string> routes_;     // route -> agent name
  std::set<std::string> admin_draining_;
  std::vector<std::string> owing_;  // names; a name gone since is skipped
  void owe(AgentSession& s);
  std::vector<uint64_t> touched_;
  using LeaseEntry = std::pair<int64_t, std::string>;  // last_seen when queued, name
  std::priority_queue<LeaseEntry, std::vector<LeaseEntry>, std::greater<>> leases_;
};

}  // namespace yardstick
