// Registers the addon's functions (see the Native interface in src/native.ts).
#include <napi.h>

#include "exports.h"

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  using namespace runt;
  exports.Set("spawn", Napi::Function::New(env, Spawn, "spawn"));
  exports.Set("spawnAsync", Napi::Function::New(env, SpawnAsync, "spawnAsync"));
  exports.Set("recv", Napi::Function::New(env, Recv, "recv"));
  exports.Set("ack", Napi::Function::New(env, Ack, "ack"));
  exports.Set("abort", Napi::Function::New(env, Abort, "abort"));
  exports.Set("whenReadable", Napi::Function::New(env, WhenReadable, "whenReadable"));
  exports.Set("waitPidfd", Napi::Function::New(env, WaitPidfd, "waitPidfd"));
  exports.Set("pidfdOpen", Napi::Function::New(env, PidfdOpen, "pidfdOpen"));
  exports.Set("pidfdSendSignal", Napi::Function::New(env, PidfdSendSignal, "pidfdSendSignal"));
  exports.Set("close", Napi::Function::New(env, Close, "close"));
  exports.Set("mkfifo", Napi::Function::New(env, Mkfifo, "mkfifo"));
  exports.Set("eventfd", Napi::Function::New(env, Eventfd, "eventfd"));
  exports.Set("pipe", Napi::Function::New(env, Pipe, "pipe"));
  exports.Set("flock", Napi::Function::New(env, Flock, "flock"));
  exports.Set("setSubreaper", Napi::Function::New(env, SetSubreaper, "setSubreaper"));
  exports.Set("sendFd", Napi::Function::New(env, SendFdToSocket, "sendFd"));
  exports.Set("listenUnix", Napi::Function::New(env, ListenUnix, "listenUnix"));
  exports.Set("acceptUnix", Napi::Function::New(env, AcceptUnix, "acceptUnix"));
  exports.Set("bindUnixDgram", Napi::Function::New(env, BindUnixDgram, "bindUnixDgram"));
  exports.Set("recvDgram", Napi::Function::New(env, RecvDgram, "recvDgram"));
  exports.Set("sendUnixDgram", Napi::Function::New(env, SendUnixDgram, "sendUnixDgram"));
  exports.Set("recvFd", Napi::Function::New(env, RecvFd, "recvFd"));
  exports.Set("setWinsize", Napi::Function::New(env, SetWinsize, "setWinsize"));
  exports.Set("makeRaw", Napi::Function::New(env, MakeRaw, "makeRaw"));
  exports.Set("restoreTerminal", Napi::Function::New(env, RestoreTerminal, "restoreTerminal"));
  exports.Set("compileSeccomp", Napi::Function::New(env, CompileSeccomp, "compileSeccomp"));
  exports.Set("seccompVersion", Napi::Function::New(env, SeccompVersion, "seccompVersion"));
  exports.Set("setBlocking", Napi::Function::New(env, SetBlocking, "setBlocking"));
  exports.Set("detachStdio", Napi::Function::New(env, DetachStdio, "detachStdio"));
  exports.Set("attachDeviceFilter", Napi::Function::New(env, AttachDeviceFilter, "attachDeviceFilter"));
  exports.Set("queryDeviceFilters", Napi::Function::New(env, QueryDeviceFilters, "queryDeviceFilters"));
  exports.Set("mount", Napi::Function::New(env, Mount, "mount"));
  exports.Set("umount2", Napi::Function::New(env, Umount2, "umount2"));
  exports.Set("idmappedTree", Napi::Function::New(env, IdmappedTree, "idmappedTree"));
  exports.Set("netlinkSocket", Napi::Function::New(env, NetlinkSocket, "netlinkSocket"));
  exports.Set("mknod", Napi::Function::New(env, Mknod, "mknod"));
  exports.Set("lsetxattr", Napi::Function::New(env, Lsetxattr, "lsetxattr"));
  exports.Set("llistxattr", Napi::Function::New(env, Llistxattr, "llistxattr"));
  exports.Set("lgetxattr", Napi::Function::New(env, Lgetxattr, "lgetxattr"));
  exports.Set("blobConnect", Napi::Function::New(env, BlobConnect, "blobConnect"));
  exports.Set("blobCopy", Napi::Function::New(env, BlobCopy, "blobCopy"));
  exports.Set("sha256", Napi::Function::New(env, Sha256, "sha256"));
  exports.Set("blobSinkNew", Napi::Function::New(env, BlobSinkNew, "blobSinkNew"));
  exports.Set("blobSinkHashFile", Napi::Function::New(env, BlobSinkHashFile, "blobSinkHashFile"));
  exports.Set("blobSinkWrite", Napi::Function::New(env, BlobSinkWrite, "blobSinkWrite"));
  exports.Set("blobSinkDigest", Napi::Function::New(env, BlobSinkDigest, "blobSinkDigest"));
  exports.Set("openProcFile", Napi::Function::New(env, OpenProcFile, "openProcFile"));
  return exports;
}

}  // namespace

NODE_API_MODULE(runt, Init)
