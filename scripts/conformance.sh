#!/bin/sh
# Runs the OCI runtime-tools validation suite (validation/*/*.t) against runt and runc, side by side,
# and prints how many checks each program passed and failed with each runtime.
#
#   scripts/conformance.sh /path/to/runtime-tools [program ...]
#
# The runtime-tools checkout must already be built (runtimetest and validation/*/*.t; see
# docs/CONFORMANCE.md for building it with Debian's Go). Nothing of it belongs in this repository.
# Give program names (e.g. linux_ns_itype) to run only those. RUNTIMES="runt runc" picks the
# runtimes; RUNT defaults to this checkout's bin/runt.cjs, RUNC to the runc in PATH.
# PROGRAM_TIMEOUT (seconds, default 300) bounds each program. The raw TAP output of every run is
# kept in $OUT (default: a new directory under /tmp), one file per runtime and program.
#
# Each run happens in a private mount namespace (unshare -m --propagation private): a config without
# a mount namespace has its mounts made in the caller's namespace, and they must not reach the host's.
# The suite's cgroupsPaths (/cgrouptest, and testdir/cgrouptest/container below the caller's cgroup)
# are left behind by the programs: the ones that did not exist before are removed on exit, as far
# as they are empty (test/helpers/engine-cgroups.ts, run with the tests' TypeScript loader).
set -eu

if [ $# -lt 1 ] || [ ! -d "$1/validation" ]; then
  echo "usage: $0 RUNTIME_TOOLS_DIR [program ...]" >&2
  exit 2
fi
RT=$(cd "$1" && pwd)
shift
if [ ! -x "$RT/runtimetest" ]; then
  echo "$RT/runtimetest is missing: build runtime-tools first (docs/CONFORMANCE.md)" >&2
  exit 2
fi
HERE=$(cd "$(dirname "$0")/.." && pwd)
RUNT=${RUNT:-$HERE/bin/runt.cjs}
RUNC=${RUNC:-$(command -v runc || true)}
RUNTIMES=${RUNTIMES:-runt runc}
PROGRAM_TIMEOUT=${PROGRAM_TIMEOUT:-300}
OUT=${OUT:-$(mktemp -d /tmp/runt-conformance.XXXXXX)}
mkdir -p "$OUT"

engine_cgroups() {
  (cd "$HERE" && TS_NODE_TRANSPILE_ONLY=1 node --import @tapjs/typescript/import test/helpers/engine-cgroups.ts "$@")
}
if engine_cgroups record "$OUT/cgroups-before.json" cgrouptest testdir; then
  trap 'engine_cgroups remove "$OUT/cgroups-before.json"' EXIT
  trap 'exit 130' INT TERM
else
  echo "warning: cannot record the cgroups (npm install for the tests' loader?): the suite's cgroupsPaths will be left" >&2
fi

# exec.Command in the suite takes one path: a wrapper runs the Node bin.
WRAP="$OUT/runt"
cat > "$WRAP" <<EOF
#!/bin/sh
exec node "$RUNT" "\$@"
EOF
chmod +x "$WRAP"

if [ $# -gt 0 ]; then
  PROGRAMS="$*"
else
  PROGRAMS=$(cd "$RT/validation" && for t in */*.t; do dirname "$t"; done)
fi

# counts FILE → "pass fail": TAP lines "ok N" (skips included, as prove counts them) and "not ok N";
# a program that planned N checks and printed fewer counts the missing ones as failed. A program that
# printed no check at all counts as one failure when it reported an error (a YAML diagnostic or a
# message on stdout, e.g. the container did not start) or printed no plan, and as nothing otherwise
# (poststart_fail, poststop_fail and prestart_fail print only "1..0" when all went as they expect).
counts() {
  awk '
    /^ok [0-9]+/ { pass++; next }
    /^not ok [0-9]+/ { fail++; next }
    /^1\.\.[0-9]+/ { split($0, p, "\\.\\."); plan = p[2] + 0; planned = 1; next }
    /^TAP version/ { next }
    NF > 0 { noise++ }
    END {
      seen = pass + fail
      if (plan > seen) fail += plan - seen
      if (seen == 0 && plan == 0 && (noise > 0 || !planned)) fail = 1
      printf "%d %d\n", pass, fail
    }' "$1"
}

run_one() { # runtime-command program → TAP in a file
  cmd=$1 prog=$2 out=$3
  (cd "$RT" && RUNTIME=$cmd timeout -k 5 "$PROGRAM_TIMEOUT" \
    unshare -m --propagation private "validation/$prog/$prog.t" >"$out" 2>"$out.stderr") || true
}

printf '%-40s' program
for r in $RUNTIMES; do printf ' %6s %6s' "$r ok" "fail"; done
printf '\n'
for r in $RUNTIMES; do eval "tot_pass_$r=0 tot_fail_$r=0 full_$r=0"; done
nprog=0
for prog in $PROGRAMS; do
  nprog=$((nprog + 1))
  printf '%-40s' "$prog"
  for r in $RUNTIMES; do
    case $r in
      runt) cmd=$WRAP ;;
      runc) cmd=$RUNC ;;
      *) cmd=$(command -v "$r") ;;
    esac
    run_one "$cmd" "$prog" "$OUT/$r.$prog.tap"
    set -- $(counts "$OUT/$r.$prog.tap")
    printf ' %6s %6s' "$1" "$2"
    eval "tot_pass_$r=\$((tot_pass_$r + $1)) tot_fail_$r=\$((tot_fail_$r + $2))"
    [ "$2" -eq 0 ] && eval "full_$r=\$((full_$r + 1))"
  done
  printf '\n'
done
printf '%-40s' total
for r in $RUNTIMES; do eval "printf ' %6s %6s' \$tot_pass_$r \$tot_fail_$r"; done
printf '\n'
for r in $RUNTIMES; do eval "echo \"$r: \$tot_pass_$r passed, \$tot_fail_$r failed; \$full_$r of $nprog programs fully passed\""; done
echo "TAP output: $OUT"
