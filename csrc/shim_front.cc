// containerd-shim-runt-v2 as containerd runs it: a small front for the two short-lived actions
// containerd starts for every container, so that each costs a fork and an exec rather than a Node
// start of its own. It carries bytes and decides nothing: the policy is src/shim/ (TypeScript), run
// by Node as bin/containerd-shim-runt-v2.cjs, which this program finds at ../../bin from its own
// path (build/Release/containerd-shim-runt-v2) and runs with the `node` on PATH, as that script's
// `#!/usr/bin/env node` would.
//
//   start    First, the running shim of the container's group, if one listens, is asked to take
//            the container without starting Node: the group is read from config.json's text as a
//            hint (the first of src/shim/address.ts's GROUP_ANNOTATIONS with a plain string
//            value; none: the namespace's shared shim, unless RUNT_SHIM_SHARE is "0"; anything
//            unclear: no hint, Node decides), its socket is /run/containerd/s/runt-FNV1A64(ADDRESS
//            "\0" NAMESPACE ["\0" GROUP]), and the request is one ttrpc call,
//            runt.shim.v1.Front/Claim (src/shim/proto/runt/shim/v1/front.proto), carrying -id,
//            -namespace, -address and the bundle (this directory). The shim decides (it reads
//            config.json itself: the container's group must be its own, and it must not be
//            exiting), writes the bundle's address file and answers with its address, which is
//            printed. Any other outcome (no socket, refused, an error status, no answer within a
//            second) leads to what follows, as if no shim ran.
//            Then a child in a new session, stdin and stdout on /dev/null and stderr on $RUNT_SHIM_LOG
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
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <algorithm>
#include <cstdint>
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

/** The action word, -bundle, -id, -namespace and -address of containerd's Go-style command line
 *  (every flag takes a value but -debug and -v; -flag=value carries its own), as
 *  bin/containerd-shim-runt-v2.cjs reads it. */
struct Args {
  std::string action;
  std::string bundle;
  std::string id;
  std::string ns;
  std::string address;
};

Args Parse(int argc, char** argv) {
  Args a;
  auto set = [&a](const std::string& name, const std::string& value) {
    if (name == "bundle") a.bundle = value;
    else if (name == "id") a.id = value;
    else if (name == "namespace") a.ns = value;
    else if (name == "address") a.address = value;
  };
  for (int i = 1; i < argc; i++) {
    std::string s = argv[i];
    if (s.empty() || s[0] != '-') {
      a.action = s;
      continue;
    }
    std::string name = s.substr(s[1] == '-' ? 2 : 1);
    size_t eq = name.find('=');
    if (eq != std::string::npos) {
      set(name.substr(0, eq), name.substr(eq + 1));
      continue;
    }
    if (name == "debug" || name == "v" || name == "version") continue;
    if (i + 1 < argc) set(name, argv[i + 1]);
    i++;
  }
  return a;
}

// --- Claim: one ttrpc request to the shared shim (src/shim/claim.ts is the other end) ----------

/** FNV-1a, 64 bits, 16 hex digits: src/shim/address.ts fnv1a64. */
std::string Fnv1a64(const std::string& text) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : text) h = (h ^ c) * 0x100000001b3ULL;
  char hex[17];
  snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
  return hex;
}

void PutVarint(std::string& out, uint64_t v) {
  for (; v >= 0x80; v >>= 7) out += static_cast<char>((v & 0x7f) | 0x80);
  out += static_cast<char>(v);
}

/** A protobuf length-delimited field (string, bytes, message). */
void PutField(std::string& out, int field, const std::string& value) {
  out += static_cast<char>(field << 3 | 2);
  PutVarint(out, value.size());
  out += value;
}

bool GetVarint(const std::string& in, size_t& at, uint64_t& v) {
  v = 0;
  for (int shift = 0; at < in.size() && shift < 64; shift += 7) {
    unsigned char c = static_cast<unsigned char>(in[at++]);
    v |= static_cast<uint64_t>(c & 0x7f) << shift;
    if (!(c & 0x80)) return true;
  }
  return false;
}

/** The length-delimited fields of a message by number (later ones win); varints as their values
 *  (in `varints`); false on a message that does not parse. */
bool Fields(const std::string& in, std::string* byNumber, uint64_t* varints, int count) {
  size_t at = 0;
  while (at < in.size()) {
    uint64_t key, v;
    if (!GetVarint(in, at, key)) return false;
    int field = static_cast<int>(key >> 3);
    switch (key & 7) {
      case 0:
        if (!GetVarint(in, at, v)) return false;
        if (field < count) varints[field] = v;
        break;
      case 1:
        if (in.size() - at < 8) return false;
        at += 8;
        break;
      case 2:
        if (!GetVarint(in, at, v) || v > in.size() - at) return false;
        if (field < count) byNumber[field] = in.substr(at, v);
        at += v;
        break;
      case 5:
        if (in.size() - at < 4) return false;
        at += 4;
        break;
      default:
        return false;
    }
  }
  return true;
}

bool SendAll(int fd, const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

bool RecvAll(int fd, std::string& out, size_t len) {
  out.resize(len);
  size_t done = 0;
  while (done < len) {
    ssize_t n = recv(fd, &out[done], len - done, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

uint32_t Be32(const std::string& b, size_t at) {
  return static_cast<uint32_t>(static_cast<unsigned char>(b[at])) << 24 | static_cast<uint32_t>(static_cast<unsigned char>(b[at + 1])) << 16 |
         static_cast<uint32_t>(static_cast<unsigned char>(b[at + 2])) << 8 | static_cast<unsigned char>(b[at + 3]);
}

/** src/shim/address.ts GROUP_ANNOTATIONS, in its order. */
constexpr const char* kGroupAnnotations[] = {"io.kubernetes.cri.sandbox-id", "io.containerd.runt.v2.group", "io.containerd.runc.v2.group"};

enum class Group { kNone, kNamed, kUnclear };

/** The group config.json (in this directory) names, read from its text as `"KEY": "VALUE"`: a
 *  hint only, the shim checks it. An escape in a value, a value that is not a string, or a file
 *  that cannot be read is kUnclear (Node decides); an escaped key goes unseen, and the shim
 *  refuses the claim. */
Group GroupHint(std::string& group) {
  int fd = open("config.json", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Group::kUnclear;
  std::string text;
  char buf[65536];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0 && text.size() < (16u << 20)) text.append(buf, static_cast<size_t>(n));
  close(fd);
  if (n != 0) return Group::kUnclear;
  auto space = [&text](size_t i) {
    while (i < text.size() && strchr(" \t\r\n", text[i]) && text[i]) i++;
    return i;
  };
  for (const char* key : kGroupAnnotations) {
    std::string needle = std::string("\"") + key + "\"";
    for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) {
      size_t i = space(at + needle.size());
      if (i >= text.size() || text[i] != ':') continue;  // the name as a value, not a key
      i = space(i + 1);
      if (i >= text.size() || text[i] != '"') return Group::kUnclear;
      size_t end = text.find('"', i + 1);
      if (end == std::string::npos) return Group::kUnclear;
      group = text.substr(i + 1, end - i - 1);
      if (group.find('\\') != std::string::npos) return Group::kUnclear;
      if (!group.empty()) return Group::kNamed;
      break;  // an empty value names no group: the next annotation's turn
    }
  }
  return Group::kNone;
}

/** Asks the running shim of the container's group (or of the namespace's containers that name no
 *  group) to take the container; its address when it did. */
bool ClaimRunningShim(const Args& a, std::string& address) {
  if (a.ns.empty() || a.address.empty() || a.id.empty()) return false;
  std::string group;
  Group hint = GroupHint(group);
  const char* share = getenv("RUNT_SHIM_SHARE");
  if (hint == Group::kUnclear || (hint == Group::kNone && share && strcmp(share, "0") == 0)) return false;
  char cwd[PATH_MAX];
  if (!getcwd(cwd, sizeof cwd)) return false;
  std::string key = a.address + '\0' + a.ns;
  if (hint == Group::kNamed) key += '\0' + group;
  std::string path = "/run/containerd/s/runt-" + Fnv1a64(key);
  sockaddr_un sun{};
  sun.sun_family = AF_UNIX;
  if (path.size() >= sizeof sun.sun_path) return false;
  memcpy(sun.sun_path, path.c_str(), path.size() + 1);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  timeval second{1, 0};  // for connect (a full backlog), the request and each read of the answer
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &second, sizeof second);
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &second, sizeof second);
  std::string claim, request, frame, head, body;
  PutField(claim, 1, a.id);
  PutField(claim, 2, a.ns);
  PutField(claim, 3, a.address);
  PutField(claim, 4, cwd);
  PutField(request, 1, "runt.shim.v1.Front");
  PutField(request, 2, "Claim");
  PutField(request, 3, claim);
  // ttrpc's frame: data length, stream id (1: a client's first), type 1 (request), flags 0.
  for (uint32_t v : {static_cast<uint32_t>(request.size()), 1U})
    for (int shift = 24; shift >= 0; shift -= 8) frame += static_cast<char>(v >> shift);
  frame += '\1';
  frame += '\0';
  frame += request;
  bool ok = false;
  if (connect(fd, reinterpret_cast<sockaddr*>(&sun), sizeof sun) == 0 && SendAll(fd, frame) && RecvAll(fd, head, 10)) {
    uint32_t len = Be32(head, 0);
    // A Response (type 2) on stream 1: Response { Status status = 1; bytes payload = 2; } with no
    // status or code 0, and a ClaimResponse { string address = 1; } naming this socket.
    if (len <= 65536 && Be32(head, 4) == 1 && head[8] == 2 && RecvAll(fd, body, len)) {
      std::string response[3], status[3], payload[2];
      uint64_t responseInts[3] = {}, code[3] = {}, payloadInts[2] = {};
      ok = Fields(body, response, responseInts, 3) && Fields(response[1], status, code, 3) && code[1] == 0 &&
           Fields(response[2], payload, payloadInts, 2) && payload[1] == "unix://" + path;
    }
  }
  close(fd);
  if (ok) address = "unix://" + path;
  return ok;
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
  if (a.action == "start") {
    std::string address;
    if (ClaimRunningShim(a, address)) {
      Say(1, address);
      // RUNT_SHIM_LOG (debugging, tests): one line says the container went to a running shim.
      const char* logPath = getenv("RUNT_SHIM_LOG");
      int log = logPath && *logPath ? open(logPath, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600) : -1;
      if (log >= 0) {
        Say(log, "containerd-shim-runt-v2 start " + a.id + ": claimed by the shim at " + address + ", no Node started\n");
        close(log);
      }
      return 0;
    }
    return Start(script, argc, argv);
  }
  if (a.action == "delete" && ReplayDeleteResponse(a.bundle)) return 0;
  ExecNode(script, argc, argv, false);
}
