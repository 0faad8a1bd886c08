#!/usr/bin/env bash
# Undo install.sh: remove /usr/local/bin/runt (if it points into this checkout),
# build/, dist/, node_modules/ and the example rootfs. apt packages stay installed.
# Refuses while containers exist under /run/runt; --force deletes them first.
# Usage: ./uninstall.sh [--force]
set -euo pipefail

cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")"
repo=$PWD

state_root=/run/runt
cli=bin/runt.cjs
bundle=dist/runt-cli.cjs # what the bin runs; absent when nothing was built
link=/usr/local/bin/runt
shim_link=/usr/local/bin/containerd-shim-runt-v2
apt_packages="build-essential python3 pkg-config libseccomp-dev busybox-static"

force=false
case ${1:-} in
  "") ;;
  --force | -f) force=true ;;
  *) echo "usage: $0 [--force]" >&2; exit 2 ;;
esac

die() {
  echo "uninstall.sh: $*" >&2
  exit 1
}

[[ $EUID -eq 0 ]] || die "must run as root (it removes $link and container state under $state_root)"

containers=()
if [[ -d $state_root ]]; then
  while IFS= read -r -d '' dir; do
    containers+=("$(basename "$dir")")
  done < <(find "$state_root" -mindepth 1 -maxdepth 1 -type d -print0)
fi

if ((${#containers[@]})) && ! $force; then
  die "${#containers[@]} container(s) exist under $state_root (${containers[*]}); delete them first or re-run with --force"
fi

for id in "${containers[@]}"; do
  if [[ -f $bundle ]] && node "$cli" delete --force "$id"; then
    echo "deleted container $id"
    continue
  fi
  if [[ -f $bundle ]]; then
    echo "warning: 'runt delete --force $id' failed; removing only its state directory" >&2
  else
    echo "warning: $bundle is not built; removing only the state directory of $id (its processes and cgroups, if any, are left)" >&2
  fi
  rm -rf -- "${state_root:?}/$id"
done
if [[ -d $state_root ]]; then
  rmdir "$state_root" 2>/dev/null || true
fi

for l in "$link" "$shim_link"; do
  if [[ -L $l ]]; then
    target=$(readlink -f "$l" || readlink "$l")
    if [[ $target == "$repo"/* ]]; then
      rm -f "$l"
      echo "removed $l"
    else
      echo "left $l alone: it points to $target, outside this checkout"
    fi
  elif [[ -e $l ]]; then
    echo "left $l alone: not a symlink made by install.sh"
  fi
done

for path in build dist node_modules examples/busybox/rootfs; do
  if [[ -e $path ]]; then
    rm -rf -- "$path"
    echo "removed $repo/$path"
  fi
done

echo "runt's store (/var/lib/runt, or \$RUNT_STORE: volumes, networks and their address leases, images) was kept: it is data; remove it by hand if it is not wanted"
echo "apt packages were not removed ($apt_packages); remove them with apt-get if nothing else needs them"
