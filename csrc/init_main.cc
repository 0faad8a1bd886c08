// runt-init: the first program a container's init (and an exec'd process) runs. The runtime's
// clone child execs it straight away (see spawn.cc); it reads the plan from a memfd and carries
// out the steps (child.cc), ending in the exec of the container's process.
//
//   runt-init <sync socket fd> <plan memfd>
//
// Built as a small static executable so that a parked init costs almost no memory.
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "child.h"
#include "fdpass.h"
#include "plan_blob.h"
#include "protocol.h"

namespace {

int ParseFd(const char* s) {
  char* end = nullptr;
  long v = strtol(s, &end, 10);
  return (end && *end == '\0' && v >= 0 && v < (1L << 30)) ? static_cast<int>(v) : -1;
}

[[noreturn]] void Fail(int sock, int err, const char* text) {
  runt::ChildMsg m;
  memset(&m, 0, sizeof m);
  m.type = runt::MSG_ERROR;
  m.step = -1;
  m.err = err;
  strncpy(m.text, text, sizeof m.text - 1);
  if (sock >= 0) runt::SendWithFd(sock, &m, sizeof m, -1);
  _exit(1);
}

}  // namespace

// libstdc++'s default terminate handler pulls in the demangler and stdio; runt-init never throws.
namespace __gnu_cxx {
void __verbose_terminate_handler() { abort(); }
}  // namespace __gnu_cxx

int main(int argc, char** argv) {
  int sock = argc == 3 ? ParseFd(argv[1]) : -1;
  int planFd = argc == 3 ? ParseFd(argv[2]) : -1;
  if (sock < 0 || planFd < 0) {
    static const char usage[] = "runt-init is started by the runt runtime, not by hand\n";
    (void)!write(2, usage, sizeof usage - 1);
    return 2;
  }
  // execveat of an fd names the process after the fd number.
  prctl(PR_SET_NAME, "runt-init", 0, 0, 0);

  struct stat st;
  if (fstat(planFd, &st) < 0) Fail(sock, errno, "runt-init: stat the plan");
  size_t len = static_cast<size_t>(st.st_size);
  char* blob = static_cast<char*>(malloc(len ? len : 1));
  if (!blob) Fail(sock, ENOMEM, "runt-init: read the plan");
  size_t got = 0;
  while (got < len) {
    ssize_t n = pread(planFd, blob + got, len - got, static_cast<off_t>(got));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) Fail(sock, n < 0 ? errno : EIO, "runt-init: read the plan");
    got += static_cast<size_t>(n);
  }
  close(planFd);

  auto* plan = new runt::Plan;
  if (!runt::DecodePlan(blob, len, *plan)) Fail(sock, EINVAL, "runt-init: the plan is malformed or from another build");
  runt::RunChild(*plan, sock);
}
