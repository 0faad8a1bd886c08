// A small static program the security tests copy into containers (and run on the host as a seccomp
// agent) to try attacks busybox cannot express: raw syscalls, ptrace, other ABIs, seccomp notify.
// Each command prints one line: "ok <value>" or "err <ERRNAME>" (or what it observed).
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static long num(const char* s) { return strtol(s, NULL, 0); }

static int report(long rc) {
  if (rc < 0) printf("err %s\n", strerrorname_np(errno));
  else printf("ok %ld\n", rc);
  return 0;
}

static void on_sigsys(int sig, siginfo_t* info, void* ctx) {
  (void)sig;
  (void)ctx;
  // printf is not async-signal-safe, but the program does nothing else meanwhile.
  printf("sigsys code=%d syscall=%d\n", info->si_code, info->si_syscall);
  fflush(stdout);
}

// The i386 ABI from a 64-bit process: int $0x80 with the number in eax.
static long int80(long nr) {
  long ret;
  __asm__ volatile("int $0x80" : "=a"(ret) : "a"(nr) : "memory");
  return ret;
}

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  const char* cmd = argv[1];
  setvbuf(stdout, NULL, _IONBF, 0);

  if (!strcmp(cmd, "syscall") && argc >= 3) {  // syscall NR [args...]
    long a[6] = {0};
    for (int i = 0; i < 6 && i + 3 < argc; i++) a[i] = num(argv[i + 3]);
    return report(syscall(num(argv[2]), a[0], a[1], a[2], a[3], a[4], a[5]));
  }
  if (!strcmp(cmd, "trap") && argc >= 3) {  // trap NR: catch SIGSYS, then make the syscall
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_sigsys;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGSYS, &sa, NULL);
    return report(syscall(num(argv[2])));
  }
  if (!strcmp(cmd, "int80") && argc >= 3) {  // int80 NR (i386 numbering)
    long rc = int80(num(argv[2]));
    if (rc < 0 && rc > -4096) {
      errno = (int)-rc;
      rc = -1;
    }
    return report(rc);
  }
  if (!strcmp(cmd, "x32") && argc >= 3) return report(syscall(num(argv[2]) | 0x40000000L));
  if (!strcmp(cmd, "ptrace") && argc >= 3) {  // ptrace PID: attach, then detach again
    pid_t pid = (pid_t)num(argv[2]);
    if (ptrace(PTRACE_SEIZE, pid, 0, 0) < 0) return report(-1);
    ptrace(PTRACE_DETACH, pid, 0, 0);
    return report(0);
  }
  if (!strcmp(cmd, "open") && argc >= 4) {  // open PATH r|w|path
    int flags = !strcmp(argv[3], "w") ? O_WRONLY : !strcmp(argv[3], "path") ? O_PATH : O_RDONLY;
    return report(open(argv[2], flags | O_CLOEXEC));
  }
  if (!strcmp(cmd, "dumpable")) return report(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0));
  if (!strcmp(cmd, "caps")) {  // caps: the Cap* lines of /proc/self/status, as this process has them
    FILE* f = fopen("/proc/self/status", "r");
    char line[256];
    while (f && fgets(line, sizeof line, f))
      if (!strncmp(line, "Cap", 3)) fputs(line, stdout);
    return 0;
  }
  // agent FD ERRNO|continue [wait]: receive one notification, print it, (with "wait": read a byte
  // from stdin first), then fail the syscall with -ERRNO or let it continue.
  if (!strcmp(cmd, "agent") && argc >= 4) {
    int fd = (int)num(argv[2]);
    struct seccomp_notif req;
    memset(&req, 0, sizeof req);
    if (ioctl(fd, SECCOMP_IOCTL_NOTIF_RECV, &req) < 0) return report(-1);
    printf("notified pid=%u syscall=%d\n", req.pid, req.data.nr);
    if (argc >= 5 && !strcmp(argv[4], "wait")) {
      char byte;
      if (read(0, &byte, 1) < 0) return report(-1);
    }
    struct seccomp_notif_resp resp;
    memset(&resp, 0, sizeof resp);
    resp.id = req.id;
    if (!strcmp(argv[3], "continue")) resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
    else resp.error = -(int)num(argv[3]);
    if (ioctl(fd, SECCOMP_IOCTL_NOTIF_SEND, &resp) < 0) return report(-1);
    printf("answered\n");
    return 0;
  }
  fprintf(stderr, "usage: probe syscall|trap|int80|x32|ptrace|open|dumpable|caps|agent ...\n");
  return 2;
}
