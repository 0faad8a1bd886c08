// linux.netDevices: move a network device of the runtime's network namespace into the container's,
// renamed, with its permanent global addresses, and set it up (config-linux.md "Network Devices").
// Netlink only, no `ip`: `hostSock` is a NETLINK_ROUTE socket the runtime opened in its own network
// namespace (a socket stays in the namespace it was made in); the rest happens through a socket
// made here, in the container's namespace. Fixed buffers, async-signal-safe.
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "executor.h"

namespace runt::child {
namespace {

constexpr size_t kBuf = 16384;
constexpr int kMaxAddrs = 32;

struct Addr {
  unsigned char family;
  unsigned char prefixlen;
  unsigned short len;
  unsigned char local[16];
  unsigned char address[16];
  bool hasLocal;
};

struct Request {
  nlmsghdr h;
  char body[1024];
};

uint32_t g_seq = 1;

void AddAttr(nlmsghdr* h, unsigned short type, const void* data, size_t len) {
  rtattr* a = reinterpret_cast<rtattr*>(reinterpret_cast<char*>(h) + NLMSG_ALIGN(h->nlmsg_len));
  a->rta_type = type;
  a->rta_len = static_cast<unsigned short>(RTA_LENGTH(len));
  if (len) memcpy(RTA_DATA(a), data, len);
  h->nlmsg_len = NLMSG_ALIGN(h->nlmsg_len) + RTA_ALIGN(a->rta_len);
}

// Sends a request and reads until its ACK (or the end of a dump); `each` sees every reply message.
// Returns 0 or the errno the kernel answered with.
template <class F>
int Talk(int sock, nlmsghdr* h, F each) {
  h->nlmsg_seq = g_seq++;
  // A dump is a GET (type % 4 == 2) with both NLM_F_ROOT and NLM_F_MATCH; NLM_F_EXCL of a NEW
  // request shares a bit with NLM_F_MATCH.
  bool dump = (h->nlmsg_type & 3) == 2 && (h->nlmsg_flags & NLM_F_DUMP) == NLM_F_DUMP;
  sockaddr_nl kernel = {};
  kernel.nl_family = AF_NETLINK;
  if (sendto(sock, h, h->nlmsg_len, 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel) < 0) return errno;
  static char buf[kBuf];
  for (;;) {
    ssize_t n = recv(sock, buf, sizeof buf, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    for (nlmsghdr* r = reinterpret_cast<nlmsghdr*>(buf); NLMSG_OK(r, static_cast<unsigned>(n)); r = NLMSG_NEXT(r, n)) {
      if (r->nlmsg_seq != h->nlmsg_seq) continue;
      if (r->nlmsg_type == NLMSG_DONE) return 0;
      if (r->nlmsg_type == NLMSG_ERROR) {
        int e = -reinterpret_cast<nlmsgerr*>(NLMSG_DATA(r))->error;
        if (e != 0 || !dump) return e;
        continue;
      }
      each(r);
    }
  }
}

// ifindex of `name` in the socket's namespace; 0 (errno set) when there is none.
int LinkIndex(int sock, const char* name) {
  Request req = {};
  req.h.nlmsg_len = NLMSG_LENGTH(sizeof(ifinfomsg));
  req.h.nlmsg_type = RTM_GETLINK;
  req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
  AddAttr(&req.h, IFLA_IFNAME, name, strlen(name) + 1);
  int index = 0;
  int e = Talk(sock, &req.h, [&](nlmsghdr* r) {
    if (r->nlmsg_type == RTM_NEWLINK) index = reinterpret_cast<ifinfomsg*>(NLMSG_DATA(r))->ifi_index;
  });
  if (e) errno = e;
  else if (!index) errno = ENODEV;
  return e ? 0 : index;
}

// The permanent addresses of global scope on `index` (the spec's list of what to keep).
int PermanentAddrs(int sock, int index, Addr* out, int* count) {
  Request req = {};
  req.h.nlmsg_len = NLMSG_LENGTH(sizeof(ifaddrmsg));
  req.h.nlmsg_type = RTM_GETADDR;
  req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  *count = 0;
  return Talk(sock, &req.h, [&](nlmsghdr* r) {
    if (r->nlmsg_type != RTM_NEWADDR) return;
    ifaddrmsg* ifa = reinterpret_cast<ifaddrmsg*>(NLMSG_DATA(r));
    if (static_cast<int>(ifa->ifa_index) != index || ifa->ifa_scope != RT_SCOPE_UNIVERSE) return;
    uint32_t flags = ifa->ifa_flags;
    Addr a = {};
    a.family = ifa->ifa_family;
    a.prefixlen = ifa->ifa_prefixlen;
    int len = static_cast<int>(IFA_PAYLOAD(r));
    for (rtattr* at = IFA_RTA(ifa); RTA_OK(at, len); at = RTA_NEXT(at, len)) {
      size_t n = RTA_PAYLOAD(at);
      if (at->rta_type == IFA_FLAGS && n >= 4) memcpy(&flags, RTA_DATA(at), 4);
      if ((at->rta_type == IFA_ADDRESS || at->rta_type == IFA_LOCAL) && n <= 16) {
        a.len = static_cast<unsigned short>(n);
        memcpy(at->rta_type == IFA_LOCAL ? a.local : a.address, RTA_DATA(at), n);
        if (at->rta_type == IFA_LOCAL) a.hasLocal = true;
      }
    }
    if ((flags & IFA_F_PERMANENT) && a.len && *count < kMaxAddrs) out[(*count)++] = a;
  });
}

}  // namespace

bool StepNetDevice(Executor& ex, const NetDeviceArgs& a) {
  const char* to = a.newName && *a.newName ? a.newName : a.name;
  int from = LinkIndex(a.hostSock, a.name);
  if (!from) {
    ex.Fail(errno).Add("network device ").Add(a.name).Add(" in the runtime's namespace");
    return false;
  }
  static Addr addrs[kMaxAddrs];
  int count = 0;
  if (int e = PermanentAddrs(a.hostSock, from, addrs, &count)) {
    ex.Fail(e).Add("read the addresses of ").Add(a.name);
    return false;
  }

  FdGuard local(socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
  if (local.get() < 0) {
    ex.Fail(errno).Add("netlink socket in the container");
    return false;
  }
  // The kernel moves first and renames after: a name already taken here would fail the rename with
  // the device already moved (and lost with this namespace). Checked before (a "%d" template is
  // the kernel's to resolve).
  if (!strchr(to, '%') && LinkIndex(local.get(), to)) {
    ex.Fail(EEXIST).Add("move ").Add(a.name).Add(" into the container as ").Add(to).Add(": the container already has a device of that name");
    return false;
  }

  // Move and rename in one message (the kernel renames right after the move).
  Request req = {};
  req.h.nlmsg_len = NLMSG_LENGTH(sizeof(ifinfomsg));
  req.h.nlmsg_type = RTM_NEWLINK;
  req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
  ifinfomsg* ifi = reinterpret_cast<ifinfomsg*>(NLMSG_DATA(&req.h));
  ifi->ifi_family = AF_UNSPEC;
  ifi->ifi_index = from;
  uint32_t self = static_cast<uint32_t>(getpid());  // resolved in this process's PID namespace
  AddAttr(&req.h, IFLA_NET_NS_PID, &self, sizeof self);
  AddAttr(&req.h, IFLA_IFNAME, to, strlen(to) + 1);
  if (int e = Talk(a.hostSock, &req.h, [](nlmsghdr*) {})) {
    ex.Fail(e).Add("move ").Add(a.name).Add(" into the container as ").Add(to);
    return false;
  }

  // By the name asked for; with a "%d" template the kernel chose the name, and the device is found
  // by the index it keeps when that is free (checked against the template's prefix).
  char name[IFNAMSIZ] = {};
  int index = 0;
  const char* percent = strchr(to, '%');
  if (!percent) index = LinkIndex(local.get(), to);
  else {
    Request get = {};
    get.h.nlmsg_len = NLMSG_LENGTH(sizeof(ifinfomsg));
    get.h.nlmsg_type = RTM_GETLINK;
    get.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
    reinterpret_cast<ifinfomsg*>(NLMSG_DATA(&get.h))->ifi_index = from;
    Talk(local.get(), &get.h, [&](nlmsghdr* r) {
      if (r->nlmsg_type != RTM_NEWLINK) return;
      ifinfomsg* info = reinterpret_cast<ifinfomsg*>(NLMSG_DATA(r));
      int len = static_cast<int>(IFLA_PAYLOAD(r));
      for (rtattr* at = IFLA_RTA(info); RTA_OK(at, len); at = RTA_NEXT(at, len)) {
        if (at->rta_type == IFLA_IFNAME && RTA_PAYLOAD(at) <= IFNAMSIZ) memcpy(name, RTA_DATA(at), RTA_PAYLOAD(at));
      }
      index = info->ifi_index;
    });
    if (strncmp(name, to, static_cast<size_t>(percent - to)) != 0) index = 0;
  }
  if (!index) {
    ex.Fail(ENODEV).Add("find ").Add(to).Add(" in the container after the move");
    return false;
  }

  for (int i = 0; i < count; i++) {
    Request add = {};
    add.h.nlmsg_len = NLMSG_LENGTH(sizeof(ifaddrmsg));
    add.h.nlmsg_type = RTM_NEWADDR;
    add.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;
    ifaddrmsg* ifa = reinterpret_cast<ifaddrmsg*>(NLMSG_DATA(&add.h));
    ifa->ifa_family = addrs[i].family;
    ifa->ifa_prefixlen = addrs[i].prefixlen;
    ifa->ifa_scope = RT_SCOPE_UNIVERSE;
    ifa->ifa_index = static_cast<unsigned>(index);
    AddAttr(&add.h, IFA_LOCAL, addrs[i].hasLocal ? addrs[i].local : addrs[i].address, addrs[i].len);
    AddAttr(&add.h, IFA_ADDRESS, addrs[i].address, addrs[i].len);
    int e = Talk(local.get(), &add.h, [](nlmsghdr*) {});
    if (e && e != EEXIST) {
      ex.Fail(e).Add("restore an address on ").Add(to);
      return false;
    }
  }

  Request up = {};
  up.h.nlmsg_len = NLMSG_LENGTH(sizeof(ifinfomsg));
  up.h.nlmsg_type = RTM_NEWLINK;
  up.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
  ifinfomsg* upi = reinterpret_cast<ifinfomsg*>(NLMSG_DATA(&up.h));
  upi->ifi_family = AF_UNSPEC;
  upi->ifi_index = index;
  upi->ifi_flags = IFF_UP;
  upi->ifi_change = IFF_UP;
  if (int e = Talk(local.get(), &up.h, [](nlmsghdr*) {})) {
    ex.Fail(e).Add("set ").Add(to).Add(" up");
    return false;
  }
  return true;
}

}  // namespace runt::child
