{
  "targets": [
    {
      "target_name": "runt",
      "sources": [
        "csrc/addon.cc",
        "csrc/blob_fetch.cc",
        "csrc/blob_sink.cc",
        "csrc/bpf.cc",
        "csrc/channel.cc",
        "csrc/errors.cc",
        "csrc/fdpass.cc",
        "csrc/fdpass_msg.cc",
        "csrc/mount.cc",
        "csrc/notify.cc",
        "csrc/fsnode.cc",
        "csrc/idmap.cc",
        "csrc/netlink.cc",
        "csrc/plan.cc",
        "csrc/plan_blob.cc",
        "csrc/poll.cc",
        "csrc/proc_open.cc",
        "csrc/process.cc",
        "csrc/procfs.cc",
        "csrc/seccomp.cc",
        "csrc/spawn.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc": ["-std=gnu++17", "-fexceptions", "-Wall", "-Wextra", "-Wno-missing-field-initializers", "<!@(pkg-config --cflags libseccomp)"],
      "libraries": ["<!@(pkg-config --libs libseccomp)", "-ldl"]
    },
    {
      # The container's first program (csrc/init_main.cc): static, so that a parked init maps
      # nothing but itself.
      "target_name": "runt-init",
      "type": "executable",
      "sources": [
        "csrc/init_main.cc",
        "csrc/child.cc",
        "csrc/child_fs.cc",
        "csrc/child_proc.cc",
        "csrc/child_sched.cc",
        "csrc/child_net.cc",
        "csrc/fdpass_msg.cc",
        "csrc/plan_blob.cc",
        "csrc/procfs.cc"
      ],
      "cflags!": ["-fPIC"],
      "cflags_cc!": ["-fno-rtti", "-fPIC"],
      "cflags_cc": ["-std=gnu++17", "-Os", "-ffunction-sections", "-fdata-sections", "-fno-exceptions", "-fno-asynchronous-unwind-tables", "-Wall", "-Wextra", "-Wno-missing-field-initializers"],
      "ldflags": ["-static", "-Wl,--gc-sections"]
    },
    {
      # containerd-shim-runt-v2's front for `start` and `delete` (csrc/shim_front.cc): no Node start
      # of its own for either. Static, as runt-init.
      "target_name": "containerd-shim-runt-v2",
      "type": "executable",
      "sources": ["csrc/shim_front.cc"],
      "cflags!": ["-fPIC"],
      "cflags_cc!": ["-fno-rtti", "-fPIC"],
      "cflags_cc": ["-std=gnu++17", "-Os", "-ffunction-sections", "-fdata-sections", "-fno-exceptions", "-Wall", "-Wextra"],
      "ldflags": ["-static", "-Wl,--gc-sections"]
    }
  ]
}
