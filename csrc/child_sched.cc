// Scheduling and memory attributes of the container's process: scheduler policy, I/O priority,
// CPU affinity, NUMA memory policy and execution domain. Each is one raw syscall on the calling
// process; all survive execve. Async-signal-safe code only.
#include <sys/personality.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

#include "executor.h"

namespace runt::child {
namespace {

// struct sched_attr, version 1 (SCHED_ATTR_SIZE_VER1: with the utilization clamps).
struct SchedAttr {
  uint32_t size;
  uint32_t sched_policy;
  uint64_t sched_flags;
  int32_t sched_nice;
  uint32_t sched_priority;
  uint64_t sched_runtime;
  uint64_t sched_deadline;
  uint64_t sched_period;
  uint32_t sched_util_min;
  uint32_t sched_util_max;
};

constexpr int kIoprioWhoProcess = 1;
constexpr int kIoprioClassShift = 13;

}  // namespace

bool StepSched(Executor& ex, const SchedArgs& a) {
  SchedAttr attr = {};
  attr.size = sizeof attr;
  attr.sched_policy = a.policy;
  attr.sched_flags = a.flags;
  attr.sched_nice = a.nice;
  attr.sched_priority = a.priority;
  attr.sched_runtime = a.runtime;
  attr.sched_deadline = a.deadline;
  attr.sched_period = a.period;
  // The utilization clamps are not in the spec: with their flags, ask for the full range.
  attr.sched_util_max = 1024;
  if (syscall(SYS_sched_setattr, 0, &attr, 0) < 0) {
    ex.Fail(errno).Add("sched_setattr policy ").AddUnsigned(a.policy);
    return false;
  }
  return true;
}

bool StepIoprio(Executor& ex, const IoprioArgs& a) {
  int prio = (a.ioclass << kIoprioClassShift) | a.level;
  if (syscall(SYS_ioprio_set, kIoprioWhoProcess, 0, prio) < 0) {
    ex.Fail(errno).Add("ioprio_set class ").Add(static_cast<int64_t>(a.ioclass)).Add(" level ").Add(static_cast<int64_t>(a.level));
    return false;
  }
  return true;
}

bool StepAffinity(Executor& ex, const BitsArgs& a) {
  if (syscall(SYS_sched_setaffinity, 0, a.count * sizeof(uint64_t), a.words) < 0) {
    ex.Fail(errno).Add("sched_setaffinity");
    return false;
  }
  return true;
}

bool StepMempolicy(Executor& ex, const BitsArgs& a) {
  // maxnode counts bits; the kernel reads maxnode - 1 of them (set_mempolicy(2)), hence the + 1.
  bool any = false;
  for (size_t i = 0; i < a.count; i++) any = any || a.words[i] != 0;
  unsigned long maxnode = any ? a.count * 64 + 1 : 0;
  if (syscall(SYS_set_mempolicy, a.mode, any ? a.words : nullptr, maxnode) < 0) {
    ex.Fail(errno).Add("set_mempolicy mode ").Add(static_cast<int64_t>(a.mode));
    return false;
  }
  return true;
}

bool StepPersonality(Executor& ex, const PersonalityArgs& a) {
  if (syscall(SYS_personality, a.persona) < 0) {
    ex.Fail(errno).Add("personality ").AddUnsigned(static_cast<uint64_t>(a.persona));
    return false;
  }
  return true;
}

}  // namespace runt::child
