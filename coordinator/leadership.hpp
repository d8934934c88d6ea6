// Which of several coordinators on one database acts. The leader holds a
// lock in the store and an epoch that the store checks on every write; the
// others wait as standbys, with their sockets unbound, so that agents and
// the CLI given every coordinator's endpoint reach the leader alone.
//
// A leader that loses its store session loses the lock with it. It waits
// a grace period (two of a standby's polls) before it tries to take the
// lock again, so that a running standby takes over first; alone, it leads
// again with a new epoch. If another took the lock, it stops at once
// (LostLeadership): a restart brings it back as a standby, as Mesos
// masters do when they lose leadership.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

namespace yardstick {

class Leadership {
 public:
  enum class Regain {
    kLeading,  // the lock is ours (still, or again with a new epoch)
    kWait,     // not yet: the store is down, or the grace period runs
    kLost,     // another coordinator leads
  };
  virtual ~Leadership() = default;
  // Called while the store is down, before state is reloaded.
  virtual Regain regain() = 0;
  // Who leads now, in words (for the log of a coordinator that lost).
  virtual std::string leader_description() = 0;
};

// Thrown out of the coordinator's loop when another coordinator leads.
class LostLeadership : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace yardstick
