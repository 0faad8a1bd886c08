// One packet with at most one fd attached (SCM_RIGHTS). Both functions are async-signal-safe
// (stack buffers only), so the child uses them too.
#pragma once

#include <sys/types.h>

#include <cstddef>

namespace runt {

// sendmsg(MSG_NOSIGNAL) of `len` bytes, with `fd` attached when fd >= 0. Returns sendmsg's result.
ssize_t SendWithFd(int sock, const void* data, size_t len, int fd);
// The same with the data gathered from two buffers (header + payload).
ssize_t SendWithFd2(int sock, const void* head, size_t headLen, const void* body, size_t bodyLen, int fd);

// recvmsg(flags | MSG_CMSG_CLOEXEC) of one packet into `data`; *fd gets the first fd received
// (or -1). Extra fds are closed. Returns recvmsg's result.
ssize_t RecvWithFd(int sock, void* data, size_t len, int* fd, int flags);

}  // namespace runt
