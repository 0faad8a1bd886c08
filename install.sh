#!/usr/bin/env bash
# Install runt from this checkout: system packages, npm dependencies, the native
# addon, the TypeScript build, the busybox example rootfs and /usr/local/bin/runt.
# Idempotent; run as root on Debian 12 with Node.js >= 20 and npm present.
set -euo pipefail

cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")"
repo=$PWD

# One package a line: build tools first, then what the tests start for real (peer runtimes, engines,
# a registry, image tools, CNI plugins, QEMU for the cgroup v2 VM, user-namespace helpers).
apt_packages=(
  build-essential
  python3
  pkg-config
  libseccomp-dev
  busybox-static
  runc
  crun
  podman
  containerd
  skopeo
  umoci
  docker-registry
  containernetworking-plugins
  iproute2
  iptables
  uidmap
  libcap2-bin
  qemu-system-x86
  cpio
  mmdebstrap
  zstd
)
# The command: a launcher that runs the CLI bundle (dist/runt-cli.cjs) with V8's code cache.
cli=bin/runt.cjs
link=/usr/local/bin/runt
# containerd's runtime v2 shim (runtime io.containerd.runt.v2): containerd finds it on its PATH. The
# link goes to the native front (csrc/shim_front.cc), which runs bin/containerd-shim-runt-v2.cjs.
shim=build/Release/containerd-shim-runt-v2
shim_js=bin/containerd-shim-runt-v2.cjs
shim_link=/usr/local/bin/containerd-shim-runt-v2
rootfs=examples/busybox/rootfs
npm_stamp=node_modules/.runt-package-lock.sha256

die() {
  echo "install.sh: $*" >&2
  exit 1
}

step() {
  echo "==> $*"
}

# Run a command with its output captured; show the output only if it fails.
quietly() {
  local log
  log=$(mktemp /tmp/runt-install.XXXXXX.log)
  if "$@" >"$log" 2>&1; then
    rm -f "$log"
  else
    local rc=$?
    echo "install.sh: '$*' failed (exit $rc); last lines of its output:" >&2
    tail -n 100 "$log" >&2
    echo "install.sh: full output kept in $log" >&2
    exit "$rc"
  fi
}

[[ $EUID -eq 0 ]] || die "must run as root (it installs apt packages and $link)"

# --- system packages -------------------------------------------------------
missing=()
for pkg in "${apt_packages[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
  [[ $status == installed ]] || missing+=("$pkg")
done
if ((${#missing[@]})); then
  step "installing apt packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  quietly apt-get update
  quietly apt-get install -y --no-install-recommends "${missing[@]}"
else
  step "apt packages already installed"
fi

# --- Node.js -----------------------------------------------------------------
command -v node >/dev/null || die "node not found: install Node.js >= 20 first"
command -v npm >/dev/null || die "npm not found: install npm (it comes with Node.js)"
node_major=$(node -p 'process.versions.node.split(".")[0]')
((node_major >= 20)) || die "Node.js >= 20 required, found $(node --version)"

# Build against the headers installed next to this node (NodeSource packages and
# the official tarballs ship include/node) instead of downloading them.
node_prefix=$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")
if [[ -f $node_prefix/include/node/node_api.h && -f $node_prefix/include/node/common.gypi ]]; then
  export npm_config_nodedir=$node_prefix
fi

# --- npm dependencies --------------------------------------------------------
lock_hash=$(sha256sum package-lock.json | cut -d' ' -f1)
if [[ -f $npm_stamp && $(cat "$npm_stamp") == "$lock_hash" ]]; then
  step "npm dependencies up to date"
elif [[ -d node_modules && ! -f $npm_stamp ]] && npm ls --all >/dev/null 2>&1; then
  # Installed by hand (npm install) and consistent: keep it rather than wipe it.
  step "npm dependencies already installed"
  echo "$lock_hash" >"$npm_stamp"
else
  step "installing npm dependencies (npm ci)"
  # No dependency needs an install script; skipping them also stops npm from
  # building the addon here, which the next step does explicitly.
  quietly npm ci --ignore-scripts --prefer-offline --no-audit --no-fund
  echo "$lock_hash" >"$npm_stamp"
fi

# --- build -------------------------------------------------------------------
step "building the native addon (node-gyp)"
quietly npm run build:native
[[ -f build/Release/runt.node ]] || die "build/Release/runt.node missing after the addon build"

step "compiling TypeScript"
quietly npm run build:ts
[[ -f dist/runt-cli.cjs ]] || die "dist/runt-cli.cjs missing after the TypeScript build (npm run build:cli)"
[[ -f $cli ]] || die "$cli missing"
[[ $(head -n 1 "$cli") == '#!/usr/bin/env node' ]] \
  || die "$cli does not start with '#!/usr/bin/env node'"
[[ -x $shim ]] || die "$shim missing after the native build (node-gyp, binding.gyp)"
chmod 0755 "$cli" "$shim_js"

# --- example rootfs ----------------------------------------------------------
step "building $rootfs from /bin/busybox"
scripts/make-rootfs.sh "$rootfs"

# --- runt on PATH ------------------------------------------------------------
if [[ -e $link && ! -L $link ]]; then
  die "$link exists and is not a symlink; remove it and re-run"
fi
ln -sfn "$repo/$cli" "$link"
if [[ -e $shim_link && ! -L $shim_link ]]; then
  die "$shim_link exists and is not a symlink; remove it and re-run"
fi
ln -sfn "$repo/$shim" "$shim_link"

echo
echo "runt installed:"
echo "  command   $link -> $repo/$cli"
echo "  shim      $shim_link -> $repo/$shim (containerd runtime io.containerd.runt.v2)"
echo "  addon     $repo/build/Release/runt.node"
echo "  node      $(node --version)"
echo "  example   $repo/examples/busybox (try: runt run --bundle $repo/examples/busybox demo)"
