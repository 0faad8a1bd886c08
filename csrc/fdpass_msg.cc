// SCM_RIGHTS packets on a unix socket: one packet, at most one fd. Async-signal-safe (stack
// buffers only), so runt-init uses them as well as the addon.
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "fdpass.h"

namespace runt {
namespace {

ssize_t SendIov(int sock, iovec* iov, int iovcnt, int fd) {
  union {
    char buf[CMSG_SPACE(sizeof(int))];
    cmsghdr align;
  } control;
  msghdr msg;
  memset(&msg, 0, sizeof msg);
  msg.msg_iov = iov;
  msg.msg_iovlen = iovcnt;
  if (fd >= 0) {
    memset(&control, 0, sizeof control);
    msg.msg_control = control.buf;
    msg.msg_controllen = sizeof control.buf;
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &fd, sizeof(int));
  }
  ssize_t n;
  do n = sendmsg(sock, &msg, MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  return n;
}

}  // namespace

ssize_t SendWithFd(int sock, const void* data, size_t len, int fd) {
  iovec iov = {const_cast<void*>(data), len};
  return SendIov(sock, &iov, 1, fd);
}

ssize_t SendWithFd2(int sock, const void* head, size_t headLen, const void* body, size_t bodyLen, int fd) {
  iovec iov[2] = {{const_cast<void*>(head), headLen}, {const_cast<void*>(body), bodyLen}};
  return SendIov(sock, iov, bodyLen ? 2 : 1, fd);
}

ssize_t RecvWithFd(int sock, void* data, size_t len, int* fd, int flags) {
  constexpr size_t kMaxFds = 8;
  union {
    char buf[CMSG_SPACE(sizeof(int) * kMaxFds)];
    cmsghdr align;
  } control;
  iovec iov = {data, len};
  msghdr msg;
  memset(&msg, 0, sizeof msg);
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.buf;
  msg.msg_controllen = sizeof control.buf;
  *fd = -1;
  ssize_t n;
  do n = recvmsg(sock, &msg, flags | MSG_CMSG_CLOEXEC);
  while (n < 0 && errno == EINTR);
  if (n < 0) return n;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < count; i++) {
      int received;
      memcpy(&received, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
      if (*fd < 0) *fd = received;
      else close(received);
    }
  }
  return n;
}

}  // namespace runt
