// The plan as plain C structures. Built in the parent from the JS SpawnConfig (plan_build.h),
// flattened into a blob (plan_blob.h) that runt-init reads back; runt-init then rewrites its own
// copy (fd renumbering). Every pointer points into storage owned by the Plan or by the blob, so
// nothing in the executor needs to allocate once it runs the steps.
#pragma once

#include <linux/filter.h>
#include <sys/types.h>

#include <cstdint>
#include <deque>
#include <string>
#include <vector>

namespace runt {

enum class Op : uint8_t {
  Sync, Setns, Unshare, Fork, Mount, OpenRoot, PivotRoot, MoveRoot, Mask, Mknod, Symlink,
  WriteProc, Sethostname, Setdomainname, Setrlimit, Prctl, CapBounding, Capset, Ambient,
  Setgroups, Setresgid, Setresuid, Umask, Chdir, Setsid, Terminal, Hook, ResolveExec, Park,
  Seccomp, Exec, JoinKeyring, Mkdir, PrepareFds, Sched, Ioprio, Affinity, Personality, Mempolicy,
  MountSetattr, Chroot, MoveMount, NetDevice,
};

enum class MkdirMode : uint8_t { None, Dir, File };

struct SyncArgs { int tag; int slot; /* -1: payload discarded */ };
struct SetnsArgs { int fd; int nstype; const char* name; };
struct UnshareArgs { int flags; };
struct ForkArgs { uint64_t flags; };
struct MountArgs {
  const char* source;  // may be null
  const char* target;
  const char* fstype;  // may be null
  const char* data;    // may be null
  unsigned long flags;
  bool targetInRoot;
  bool sourceInRoot;
  bool optional;
  bool keepFlags;
  MkdirMode mkdir;
  mode_t mode;
  bool hasExpectFs;
  int64_t expectFs;
  bool copyUp;  // tmpcopyup: copy the directory the mount covers into the new (tmpfs) mount
};
struct PathArgs { const char* path; };  // openRoot, mask, chdir, joinKeyring (the name)
struct MaskArgs { const char* path; bool hasExpectFs; int64_t expectFs; };
struct MknodArgs { const char* path; mode_t mode; unsigned major; unsigned minor; uid_t uid; gid_t gid; };
struct SymlinkArgs { const char* target; const char* path; };
struct WriteProcArgs { const char* path; const char* data; size_t len; };  // path: /proc/...
struct NameArgs { const char* name; size_t len; };  // sethostname, setdomainname
struct RlimitArgs { int resource; uint64_t soft; uint64_t hard; };
struct PrctlArgs { int option; unsigned long arg2; };
struct CapBoundingArgs { uint64_t keep; int lastCap; };
struct CapsetArgs { uint64_t effective; uint64_t permitted; uint64_t inheritable; };
struct AmbientArgs { const int* caps; size_t count; };
struct SetgroupsArgs { const gid_t* gids; size_t count; };
struct IdArgs { uint32_t id; };  // setresgid, setresuid
struct UmaskArgs { mode_t mask; };
struct MkdirArgs { const char* path; mode_t mode; };
struct TerminalArgs { unsigned short rows; unsigned short cols; bool console; };
struct HookArgs { const char* path; char* const* argv; char* const* envp; int timeoutMs; int stdinSlot; };
struct ResolveExecArgs { const char* name; const char* searchPath; };
struct ParkArgs { int fd; };
struct SeccompArgs { const sock_filter* filter; unsigned short len; unsigned flags; };
struct PrepareFdsArgs { int preserveFds; };
// sched_setattr(0, attr, 0): the fields of struct sched_attr.
struct SchedArgs { uint32_t policy; int32_t nice; uint32_t priority; uint64_t flags; uint64_t runtime; uint64_t deadline; uint64_t period; };
struct IoprioArgs { int ioclass; int level; };
// A CPU or NUMA-node bitmask (affinity, mempolicy); `mode` is the mempolicy mode | flags.
struct BitsArgs { int mode; const uint64_t* words; size_t count; };
struct PersonalityArgs { unsigned long persona; };
// mount_setattr(target in root, AT_RECURSIVE if recursive) with struct mount_attr.
struct MountSetattrArgs { const char* target; uint64_t attrSet; uint64_t attrClr; uint64_t propagation; bool recursive; };
// move_mount(fd, target opened in root): attaches a detached mount the runtime prepared.
struct MoveMountArgs { int fd; const char* target; MkdirMode mkdir; };
// linux.netDevices: move `name` from the runtime's network namespace (hostSock, a NETLINK_ROUTE
// socket opened there) into this one as `newName` (null: same name), with its addresses, up.
struct NetDeviceArgs { int hostSock; const char* name; const char* newName; };
struct ExecArgs { const char* name; char* const* argv; char* const* envp; const char* searchPath; int preserveFds; };

struct Step {
  Op op;
  union {
    SyncArgs sync;
    SetnsArgs setns;
    UnshareArgs unshare;
    ForkArgs fork;
    MountArgs mount;
    PathArgs path;
    MaskArgs mask;
    MknodArgs mknod;
    SymlinkArgs symlink;
    WriteProcArgs writeProc;
    NameArgs name;
    RlimitArgs rlimit;
    PrctlArgs prctl;
    CapBoundingArgs capBounding;
    CapsetArgs capset;
    AmbientArgs ambient;
    SetgroupsArgs setgroups;
    IdArgs id;
    UmaskArgs umask;
    MkdirArgs mkdir;
    TerminalArgs terminal;
    HookArgs hook;
    ResolveExecArgs resolveExec;
    ParkArgs park;
    SeccompArgs seccomp;
    ExecArgs exec;
    PrepareFdsArgs prepareFds;
    SchedArgs sched;
    IoprioArgs ioprio;
    BitsArgs bits;
    PersonalityArgs personality;
    MountSetattrArgs mountSetattr;
    MoveMountArgs moveMount;
    NetDeviceArgs netDevice;
  };
};

// The fd a step refers to (opened by the runtime, inherited by runt-init), or null.
inline int* StepFd(Step& s) {
  switch (s.op) {
    case Op::Setns: return &s.setns.fd;
    case Op::Park: return &s.park.fd;
    case Op::MoveMount: return &s.moveMount.fd;
    case Op::NetDevice: return &s.netDevice.hostSock;
    default: return nullptr;
  }
}
inline const int* StepFd(const Step& s) { return StepFd(const_cast<Step&>(s)); }

struct Plan {
  uint64_t cloneFlags = 0;
  int stdio[3] = {-1, -1, -1};
  int preserveFds = 0;
  // Internal fds the child keeps (sync socket, setns/park fds, root fd) must be at or above
  // this: 3 + the largest preserveFds of the config and its exec steps.
  int fdFloor = 3;
  bool trace = false;
  int pdeathSig = 0;
  // Born in its cgroups: clone3 CLONE_INTO_CGROUP with this cgroup2 directory fd (-1: none), and
  // "0" written first thing into each cgroup v1 `tasks` fd (moving only oneself skips the kernel's
  // global cgroup lock, which a write of another pid to cgroup.procs takes).
  int cgroupFd = -1;
  std::vector<int> cgroupTaskFds;
  std::vector<Step> steps;

  // Owned storage the steps point into (deque: growing never moves existing elements).
  std::deque<std::string> strings;
  std::deque<std::vector<char*>> stringArrays;
  std::deque<std::vector<int>> intArrays;
  std::deque<std::vector<gid_t>> gidArrays;
  std::deque<std::vector<sock_filter>> filters;
  std::deque<std::vector<uint64_t>> bitArrays;
};

}  // namespace runt
