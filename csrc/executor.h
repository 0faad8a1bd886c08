// State and step functions shared by the child-side files (child.cc, child_fs.cc,
// child_proc.cc). Everything here is async-signal-safe: no allocation, no locks, no exceptions.
#pragma once

#include <linux/limits.h>

#include <cstddef>
#include <cstdint>

#include "plan.h"
#include "protocol.h"
#include "sigsafe.h"

namespace runt::child {

using sigsafe::Text;

// ACK payloads, written only by the child (the parent never touches these pages).
extern char g_slots[kPayloadSlots][kPayloadMax];

struct Executor {
  Plan* plan;
  int sock;
  int rootfd = -1;
  int procRoot = -1;  // a procfs nothing is mounted over (procfs.h), opened by the first writeProc
  int step = -1;
  int err = 0;
  Text text;
  size_t slotLen[kPayloadSlots] = {};
  bool hasResolved = false;
  bool fdsPrepared = false;
  // Set once a seccomp filter is loaded: from then on runt-init makes no system call but execve
  // (no trace messages either; a failure is still reported).
  bool filtered = false;
  char resolved[PATH_MAX];

  // Records a failure of the current step; the returned text is the message (errno is separate).
  Text& Fail(int e) {
    err = e;
    text.Clear();
    return text;
  }
  // Sends one message to the parent. Callers mostly ignore failures: after MSG_PARKED the
  // runtime exits by design.
  bool Send(uint32_t type, int32_t pid, uint64_t usec, int fd = -1, bool withText = false);
  // The fd of the current root for "in root" paths ("/" until openRoot); -1 with Fail on error.
  int Root();
  // Replaces the root fd with `fd` (taking ownership), moved above the preserved range.
  bool SetRoot(int fd);
  // The procfs root for writeProc steps (procfs::OpenRoot, kept above the floor); -1 with Fail.
  int ProcRoot();
  // Moves fd to a number >= plan->fdFloor (F_DUPFD_CLOEXEC) and closes the old one.
  int KeepAboveFloor(int fd);
};

// Closes an fd when leaving scope.
class FdGuard {
 public:
  explicit FdGuard(int fd = -1) : fd_(fd) {}
  ~FdGuard();
  FdGuard(const FdGuard&) = delete;
  FdGuard& operator=(const FdGuard&) = delete;
  void Reset(int fd);
  int get() const { return fd_; }
  int Release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_;
};

// openat2(root, path, flags | O_CLOEXEC, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS); -1 + errno.
int OpenInRoot(int root, const char* path, uint64_t flags, uint64_t mode = 0);

// child_fs.cc
bool StepMount(Executor& ex, const MountArgs& a);
bool StepOpenRoot(Executor& ex, const PathArgs& a);
bool StepMkdir(Executor& ex, const MkdirArgs& a);
bool StepPivotRoot(Executor& ex);
bool StepMoveRoot(Executor& ex);
bool StepChroot(Executor& ex);
bool StepMask(Executor& ex, const MaskArgs& a);
bool StepMknod(Executor& ex, const MknodArgs& a);
bool StepSymlink(Executor& ex, const SymlinkArgs& a);
bool StepMountSetattr(Executor& ex, const MountSetattrArgs& a);
bool StepMoveMount(Executor& ex, const MoveMountArgs& a);
bool StepWriteProc(Executor& ex, const WriteProcArgs& a);

// child_proc.cc
bool StepSync(Executor& ex, const SyncArgs& a);
bool StepFork(Executor& ex, const ForkArgs& a);
bool StepTerminal(Executor& ex, const TerminalArgs& a);
bool StepHook(Executor& ex, const HookArgs& a);
bool StepResolveExec(Executor& ex, const ResolveExecArgs& a);
bool StepPark(Executor& ex, const ParkArgs& a);
bool StepSeccomp(Executor& ex, const SeccompArgs& a);
bool StepPrepareFds(Executor& ex, const PrepareFdsArgs& a);
bool StepExec(Executor& ex, const ExecArgs& a);

// child_net.cc
bool StepNetDevice(Executor& ex, const NetDeviceArgs& a);

// child_sched.cc
bool StepSched(Executor& ex, const SchedArgs& a);
bool StepIoprio(Executor& ex, const IoprioArgs& a);
bool StepAffinity(Executor& ex, const BitsArgs& a);
bool StepMempolicy(Executor& ex, const BitsArgs& a);
bool StepPersonality(Executor& ex, const PersonalityArgs& a);

}  // namespace runt::child
