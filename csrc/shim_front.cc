// containerd-shim-runt-v2 as containerd runs it: a small front for the two short-lived actions
// containerd starts for every container, so that each costs a fork and an exec rather than a Node
// start of its own. It carries bytes and decides nothing: the policy is src/shim/ (TypeScript), run
// by Node as bin/containerd-shim-runt-v2.cjs, which this program finds at ../../bin from its own
// path (build/Release/containerd-shim-runt-v2) and runs with the `node` on PATH, as that script's
// `#!/usr/bin/env node` would.
//
//   start    A child in a new session, stdin and stdout on /dev/null and stderr on $RUNT_SHIM_LOG
//            (or /dev/null), runs `node bin/containerd-shim-runt-v2.cjs ARGS -start-fd 3`: Node
//            finds the shim of the container's group or becomes it, and writes "ok ADDRESS" or
//            "error MESSAGE" on fd 3 (a pipe to this process), then serves or exits. This process
//            prints the address for containerd and exits: one Node start instead of two (a `start`
//            that spawns the shim). Node closing the pipe with nothing written is reported with
//            its exit status.
//   delete   When the shim already cleaned up after the container (its Delete RPC did, and left the
//            DeleteResponse it answered in BUNDLE/runt-delete-response), those bytes are written
//            and the file removed: containerd 1.6 runs `delete` after every container, even one
//            its shim deleted. Otherwise (a shim killed, say), Node's delete cleans up.
//   other    Node with the same arguments.
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

namespace {

constexpr const char kResponseFile[] = "runt-delete-response";
constexpr int kStartFd = 3;

void WriteAll(int fd, const char* data, size_t len) {
  while (len > 0) {
    ssize_t n = write(fd, data, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    data += n;
    len -= static_cast<size_t>(n);
  }
}

void Say(int fd, const std::string& text) { WriteAll(fd, text.data(), text.size()); }

/** The Node program: bin/containerd-shim-runt-v2.cjs, two levels above this executable's directory. */
std::string Script() {
  char self[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) return "";
  self[n] = '\0';
  std::string dir(self);
  for (int up = 0; up < 3; up++) {
    size_t slash = dir.rfind('/');
    if (slash == std::string::npos) return "";
    dir.resize(slash);
  }
  return dir + "/bin/containerd-shim-runt-v2.cjs";
}

/** The action word and -bundle of containerd's Go-style command line (every flag takes a value but
 *  -debug and -v; -flag=value carries its own), as bin/containerd-shim-runt-v2.cjs reads it. */
struct Args {
  std::string action;
  std::string bundle;
};

Args Parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; i++) {
    std::string s = argv[i];
    if (s.empty() || s[0] != '-') {
      a.action = s;
      continue;
    }
    std::string name = s.substr(s[1] == '-' ? 2 : 1);
    size_t eq = name.find('=');
    if (eq != std::string::npos) {
      if (name.compare(0, eq, "bundle") == 0) a.bundle = name.substr(eq + 1);
      continue;
    }
    if (name == "debug" || name == "v" || name == "version") continue;
    if (name == "bundle" && i + 1 < argc) a.bundle = argv[i + 1];
    i++;
  }
  return a;
}

[[noreturn]] void ExecNode(const std::string& script, int argc, char** argv, bool startFd) {
  std::vector<char*> args;
  args.push_back(const_cast<char*>("node"));
  // The Node that becomes the long-lived shim runs with V8's lite mode (no optimizing compiler):
  // about 8 MB less RSS per shim here (docs/PERFORMANCE.md), for code that waits on syscalls.
  // src/shim/start.ts gives the shim it spawns the same flag.
  // (--no-expose-wasm: lite mode turns WebAssembly off anyway, with a warning unless it is asked.)
  if (startFd) {
    args.push_back(const_cast<char*>("--lite-mode"));
    args.push_back(const_cast<char*>("--no-expose-wasm"));
  }
  args.push_back(const_cast<char*>(script.c_str()));
  for (int i = 1; i < argc; i++) args.push_back(argv[i]);
  if (startFd) {
    args.push_back(const_cast<char*>("-start-fd"));
    args.push_back(const_cast<char*>("3"));
  }
  args.push_back(nullptr);
  // The shim makes no TLS connection; extra CA certificates would only slow Node's start.
  unsetenv("NODE_EXTRA_CA_CERTS");
  execvp("node", args.data());
  int err = errno;
  Say(startFd ? kStartFd : 2, std::string(startFd ? "error " : "") + "containerd-shim-runt-v2: exec node: " + strerror(err) + "\n");
  _exit(127);
}

/** delete: the DeleteResponse the shim left, when it left one (a regular file of ours, small). */
bool ReplayDeleteResponse(const std::string& bundle) {
  std::string dir = bundle;
  if (dir.empty()) {
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof cwd)) return false;
    dir = cwd;
  }
  std::string path = dir + "/" + kResponseFile;
  int fd = open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return false;
  struct stat st;
  char buf[256];
  ssize_t n = -1;
  if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == geteuid() && st.st_size > 0 &&
      st.st_size < static_cast<off_t>(sizeof buf)) {
    n = read(fd, buf, sizeof buf);
  }
  close(fd);
  if (n <= 0 || n != st.st_size) return false;
  WriteAll(1, buf, static_cast<size_t>(n));
  unlink(path.c_str());
  return true;
}

int Start(const std::string& script, int argc, char** argv) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) < 0) {
    perror("containerd-shim-runt-v2 start: pipe");
    return 1;
  }
  pid_t pid = fork();
  if (pid < 0) {
    perror("containerd-shim-runt-v2 start: fork");
    return 1;
  }
  if (pid == 0) {
    // The long-lived shim must not hold containerd's pipes (containerd reads them to the end).
    setsid();
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    const char* logPath = getenv("RUNT_SHIM_LOG");
    int log = logPath && *logPath ? open(logPath, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600) : -1;
    if (null < 0 || dup2(p[1], kStartFd) < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(log >= 0 ? log : null, 2) < 0) {
      Say(p[1], std::string("error containerd-shim-runt-v2 start: stdio: ") + strerror(errno) + "\n");
      _exit(127);
    }
    syscall(SYS_close_range, kStartFd + 1, ~0U, 0);
    ExecNode(script, argc, argv, true);
  }
  close(p[1]);
  std::string out;
  char buf[4096];
  // Up to the end of the first line: a process Node leaves holding the pipe (a wrapper such as
  // time(1) around node) must not keep containerd waiting.
  while (out.find('\n') == std::string::npos) {
    ssize_t n = read(p[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  out.resize(std::min(out.size(), out.find('\n')));
  close(p[0]);
  if (out.compare(0, 3, "ok ") == 0) {
    Say(1, out.substr(3));
    return 0;
  }
  if (out.compare(0, 6, "error ") == 0) {
    Say(2, out.substr(6) + "\n");
    return 1;
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  std::string how = WIFEXITED(status) ? "exit status " + std::to_string(WEXITSTATUS(status))
                    : WIFSIGNALED(status) ? "signal " + std::to_string(WTERMSIG(status))
                                          : "status " + std::to_string(status);
  Say(2, "containerd-shim-runt-v2 start: the shim ended (" + how + ") before giving its address\n");
  return 1;
}

}  // namespace

// libstdc++'s default terminate handler pulls in the demangler and stdio.
namespace __gnu_cxx {
void __verbose_terminate_handler() { abort(); }
}  // namespace __gnu_cxx

int main(int argc, char** argv) {
  std::string script = Script();
  if (script.empty() || access(script.c_str(), R_OK) != 0) {
    Say(2, "containerd-shim-runt-v2: cannot find bin/containerd-shim-runt-v2.cjs next to this program's build directory\n");
    return 1;
  }
  Args a = Parse(argc, argv);
  if (a.action == "start") return Start(script, argc, argv);
  if (a.action == "delete" && ReplayDeleteResponse(a.bundle)) return 0;
  ExecNode(script, argc, argv, false);
}
