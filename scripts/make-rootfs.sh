#!/usr/bin/env bash
# Build a minimal busybox root filesystem in DIR (created if missing).
# Idempotent: re-running refreshes the binary and links and leaves other files alone.
# Usage: scripts/make-rootfs.sh DIR [BUSYBOX]   (BUSYBOX defaults to /bin/busybox, must be static)
set -euo pipefail

if [[ $# -lt 1 || $# -gt 2 ]]; then
  echo "usage: $0 DIR [BUSYBOX]" >&2
  exit 2
fi
rootfs=$1
busybox=${2:-/bin/busybox}

if [[ ! -x $busybox ]]; then
  echo "make-rootfs: $busybox not found (apt-get install busybox-static)" >&2
  exit 1
fi
# A dynamically linked busybox would need the host's libc inside the rootfs.
# (ldd fails on a static binary.)
if ldd "$busybox" >/dev/null 2>&1; then
  echo "make-rootfs: $busybox is dynamically linked; install busybox-static" >&2
  exit 1
fi

mkdir -p "$rootfs"
cd "$rootfs"
mkdir -p bin sbin usr/bin usr/sbin etc proc sys dev tmp root var run
chmod 1777 tmp
chmod 0700 root

# Replace via a temporary name so a running container never sees a half-written binary.
cp "$busybox" bin/.busybox.new
chmod 0755 bin/.busybox.new
mv -f bin/.busybox.new bin/busybox

# --list-full prints paths such as "usr/bin/wc"; older builds only know --list (names).
if applets=$(bin/busybox --list-full 2>/dev/null) && [[ -n $applets ]]; then
  :
else
  applets=$(bin/busybox --list | sed 's|^|bin/|')
fi

while IFS= read -r applet; do
  [[ -z $applet ]] && continue
  # The list contains busybox itself; linking it would replace the binary with a loop.
  [[ $(basename "$applet") == busybox ]] && continue
  dir=$(dirname "$applet")
  if [[ $dir == bin ]]; then
    target=busybox
  else
    # One "../" per directory level, back up to the rootfs top.
    slashes=${applet//[!\/]/}
    target=bin/busybox
    for ((i = 0; i < ${#slashes}; i++)); do target=../$target; done
    mkdir -p "$dir"
  fi
  ln -sfn "$target" "$applet"
done <<<"$applets"

cat >etc/passwd <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
PASSWD
cat >etc/group <<'GROUP'
root:x:0:
tty:x:5:
nogroup:x:65534:
GROUP
echo runt >etc/hostname
chmod 0644 etc/passwd etc/group etc/hostname
