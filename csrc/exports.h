// The functions addon.cc registers (the Native interface of src/native.ts).
#pragma once

#include <napi.h>

namespace runt {

Napi::Value Spawn(const Napi::CallbackInfo& info);                // spawn.cc
Napi::Value SpawnAsync(const Napi::CallbackInfo& info);           // spawn.cc
Napi::Value Recv(const Napi::CallbackInfo& info);                 // channel.cc
Napi::Value Ack(const Napi::CallbackInfo& info);                  // channel.cc
Napi::Value Abort(const Napi::CallbackInfo& info);                // channel.cc
Napi::Value WhenReadable(const Napi::CallbackInfo& info);         // poll.cc
Napi::Value WaitPidfd(const Napi::CallbackInfo& info);            // process.cc
Napi::Value PidfdOpen(const Napi::CallbackInfo& info);            // process.cc
Napi::Value PidfdSendSignal(const Napi::CallbackInfo& info);      // process.cc
Napi::Value Close(const Napi::CallbackInfo& info);                // process.cc
Napi::Value Mkfifo(const Napi::CallbackInfo& info);               // process.cc
Napi::Value Eventfd(const Napi::CallbackInfo& info);              // process.cc
Napi::Value Pipe(const Napi::CallbackInfo& info);                 // process.cc
Napi::Value Flock(const Napi::CallbackInfo& info);                // process.cc
Napi::Value SetSubreaper(const Napi::CallbackInfo& info);         // process.cc
Napi::Value SetBlocking(const Napi::CallbackInfo& info);          // process.cc
Napi::Value DetachStdio(const Napi::CallbackInfo& info);         // process.cc
Napi::Value SendFdToSocket(const Napi::CallbackInfo& info);       // fdpass.cc
Napi::Value ListenUnix(const Napi::CallbackInfo& info);           // fdpass.cc
Napi::Value AcceptUnix(const Napi::CallbackInfo& info);           // fdpass.cc
Napi::Value RecvFd(const Napi::CallbackInfo& info);               // fdpass.cc
Napi::Value BindUnixDgram(const Napi::CallbackInfo& info);        // notify.cc
Napi::Value RecvDgram(const Napi::CallbackInfo& info);            // notify.cc
Napi::Value SendUnixDgram(const Napi::CallbackInfo& info);        // notify.cc
Napi::Value SetWinsize(const Napi::CallbackInfo& info);           // process.cc
Napi::Value MakeRaw(const Napi::CallbackInfo& info);              // process.cc
Napi::Value RestoreTerminal(const Napi::CallbackInfo& info);      // process.cc
Napi::Value CompileSeccomp(const Napi::CallbackInfo& info);       // seccomp.cc
Napi::Value SeccompVersion(const Napi::CallbackInfo& info);       // seccomp.cc
Napi::Value AttachDeviceFilter(const Napi::CallbackInfo& info);   // bpf.cc
Napi::Value QueryDeviceFilters(const Napi::CallbackInfo& info);   // bpf.cc
Napi::Value Mount(const Napi::CallbackInfo& info);                // mount.cc
Napi::Value Umount2(const Napi::CallbackInfo& info);              // mount.cc
Napi::Value IdmappedTree(const Napi::CallbackInfo& info);         // idmap.cc
Napi::Value NetlinkSocket(const Napi::CallbackInfo& info);        // netlink.cc
Napi::Value Mknod(const Napi::CallbackInfo& info);                // fsnode.cc
Napi::Value Lsetxattr(const Napi::CallbackInfo& info);            // fsnode.cc
Napi::Value Llistxattr(const Napi::CallbackInfo& info);           // fsnode.cc
Napi::Value Lgetxattr(const Napi::CallbackInfo& info);            // fsnode.cc
Napi::Value OpenProcFile(const Napi::CallbackInfo& info);         // proc_open.cc
Napi::Value BlobConnect(const Napi::CallbackInfo& info);          // blob_fetch.cc
Napi::Value BlobCopy(const Napi::CallbackInfo& info);             // blob_fetch.cc
Napi::Value Sha256(const Napi::CallbackInfo& info);               // blob_fetch.cc
Napi::Value BlobSinkNew(const Napi::CallbackInfo& info);          // blob_sink.cc
Napi::Value BlobSinkHashFile(const Napi::CallbackInfo& info);     // blob_sink.cc
Napi::Value BlobSinkWrite(const Napi::CallbackInfo& info);        // blob_sink.cc
Napi::Value BlobSinkDigest(const Napi::CallbackInfo& info);       // blob_sink.cc

}  // namespace runt
