#include "coordinator/agent_registry.hpp"

#include <algorithm>
#include <utility>

namespace yardstick {

AgentRegistry::Admission AgentRegistry::admit(const std::string& name,
                                              const std::string& incarnation,
                                              const std::string& route, int64_t now_ms,
                                              int64_t alive_ms) const {
  auto it = sessions_.find(name);
  if (it == sessions_.end()) return Admission::kNew;
  const AgentSession& old = it->second;
  if (!incarnation.empty() && incarnation == old.incarnation) return Admission::kRepeat;
  if (old.route != route && now_ms - old.last_seen_ms < alive_ms) return Admission::kReject;
  return Admission::kReplace;
}

AgentSession& AgentRegistry::put(AgentSession session) {
  if (auto old = sessions_.find(session.name); old != sessions_.end()) {
    if (old->second.route != session.route) routes_.erase(old->second.route);
    session.acks.insert(session.acks.begin(), old->second.acks.begin(), old->second.acks.end());
    sessions_.erase(old);
  }
  routes_[session.route] = session.name;
  const std::string name = session.name;
  session.owing = false;
  // Due at once: expired() queues it again with its lease, which it knows.
  session.lease_key_ms = session.last_seen_ms;
  leases_.emplace(session.last_seen_ms, name);
  AgentSession& s = sessions_.emplace(name, std::move(session)).first->second;
  if (!s.acks.empty() || !s.abandon.empty()) owe(s);
  return s;
}

void AgentRegistry::owe(AgentSession& s) {
  if (s.owing) return;
  s.owing = true;
  owing_.push_back(s.name);
}

void AgentRegistry::add_ack(AgentSession& s, const ResultKey& key) {
  s.acks.push_back(key);
  owe(s);
}

bool AgentRegistry::add_abandon(AgentSession& s, const JobRef& ref) {
  if (!s.abandon.insert(ref).second) return false;
  owe(s);
  return true;
}

void AgentRegistry::remove(const std::string& name) {
  auto it = sessions_.find(name);
  if (it == sessions_.end()) return;
  routes_.erase(it->second.route);
  sessions_.erase(it);
}

void AgentRegistry::clear() {
  sessions_.clear();
  routes_.clear();
  owing_.clear();
  touched_.clear();
  leases_ = {};
}

AgentSession* AgentRegistry::find(const std::string& name) {
  auto it = sessions_.find(name);
  return it == sessions_.end() ? nullptr : &it->second;
}

const AgentSession* AgentRegistry::find(const std::string& name) const {
  auto it = sessions_.find(name);
  return it == sessions_.end() ? nullptr : &it->second;
}

void AgentRegistry::set_admin_draining(const std::string& name, bool draining) {
  if (draining)
    admin_draining_.insert(name);
  else
    admin_draining_.erase(name);
  if (AgentSession* s = find(name)) s->draining_admin = draining;
}

AgentSession* AgentRegistry::by_route(const std::string& route) {
  auto r = routes_.find(route);
  if (r == routes_.end()) return nullptr;
  auto s = sessions_.find(r->second);
  return s != sessions_.end() && s->second.route == route ? &s->second : nullptr;
}

std::string AgentRegistry::name_of(const std::string& route, const std::string& fallback) const {
  auto r = routes_.find(route);
  return r == routes_.end() ? fallback : r->second;
}

void AgentRegistry::seen(AgentSession& s, int64_t now_ms, int64_t touch_every_ms) {
  s.last_seen_ms = now_ms;
  if (now_ms - s.last_touched_ms < touch_every_ms) return;
  s.last_touched_ms = now_ms;
  touched_.push_back(s.agent_id);
}

std::vector<uint64_t> AgentRegistry::take_touched() {
  return std::exchange(touched_, {});
}

std::vector<std::string> AgentRegistry::expired(int64_t now_ms, int64_t lease_ms) {
  std::vector<std::string> out;
  while (!leases_.empty() && leases_.top().first < now_ms) {
    LeaseEntry entry = leases_.top();
    leases_.pop();
    AgentSession* s = find(entry.second);
    // Gone, or queued again since (a newer put, or heard from): stale.
    if (!s || s->lease_key_ms != entry.first) continue;
    const int64_t lease = s->lease_ms > 0 ? s->lease_ms : lease_ms;
    if (now_ms - s->last_seen_ms > lease) {
      if (std::find(out.begin(), out.end(), s->name) == out.end()) out.push_back(s->name);
      continue;
    }
    s->lease_key_ms = s->last_seen_ms + lease;
    leases_.emplace(s->lease_key_ms, s->name);
  }
  // Expired sessions stay queued until removed.
  for (const auto& name : out) leases_.emplace(find(name)->lease_key_ms, name);
  return out;
}

void AgentRegistry::extend(int64_t gap_ms) {
  for (auto& [name, s] : sessions_) s.last_seen_ms += gap_ms;
}

}  // namespace yardstick
