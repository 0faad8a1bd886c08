{
  "targets": [
    {
      "target_name": "runt",
      "sources": [
        "csrc/addon.cc",
        "csrc/bpf.cc",
        "csrc/channel.cc",
        "csrc/child.cc",
        "csrc/child_fs.cc",
        "csrc/child_proc.cc",
        "csrc/errors.cc",
        "csrc/fdpass.cc",
        "csrc/plan.cc",
        "csrc/poll.cc",
        "csrc/process.cc",
        "csrc/seccomp.cc",
        "csrc/spawn.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc": ["-std=gnu++17", "-fexceptions", "-Wall", "-Wextra", "-Wno-missing-field-initializers", "<!@(pkg-config --cflags libseccomp)"],
      "libraries": ["<!@(pkg-config --libs libseccomp)"]
    }
  ]
}
