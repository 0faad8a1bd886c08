// Wire format of the sync socket between the runtime (parent) and the container's child.
// The numbers mirror MSG and FD_TAG in src/plan/steps.ts.
#pragma once

#include <cstddef>
#include <cstdint>

namespace runt {

enum MsgType : uint32_t {
  MSG_EOF = 0,  // not sent: what recv() reports when the child's end is closed
  MSG_ERROR = 1,
  MSG_SYNC = 2,
  MSG_PID = 3,
  MSG_PARKED = 4,
  MSG_TRACE = 5,
  MSG_FD = 6,
  MSG_ACK = 100,
  MSG_ABORT = 101,
};

enum FdTag : int32_t {
  FD_TAG_TERMINAL = 1,
  FD_TAG_SECCOMP_LISTENER = 2,
};

constexpr size_t kMsgTextSize = 256;

// Child → parent. One message per SOCK_SEQPACKET packet; MSG_PID and MSG_FD carry one fd
// with SCM_RIGHTS.
struct ChildMsg {
  uint32_t type;
  int32_t step;
  int32_t err;
  int32_t pid;  // MSG_PID: the pid; MSG_SYNC / MSG_FD: the tag
  uint64_t usec;
  char text[kMsgTextSize];
};

// Parent → child: this header, followed in the same packet by `len` payload bytes (ACK only).
struct ParentMsg {
  uint32_t type;
  uint32_t len;
};

constexpr size_t kPayloadMax = 64 * 1024;
constexpr int kPayloadSlots = 4;

}  // namespace runt
