#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Hardening checks, part of the CI test command:
#  1. the sanitizer build: every target built with ASan + UBSan (gcc, -O1), then the
#     unit, cli, pam, e2e, broker and fuzz-replay suites run with any finding
#     fatal (halt_on_error, leaks checked);
#  2. the libFuzzer smoke runs: the fuzz targets built with clang and fuzzed
#     for a while each from the checked-in seeds (tests/fuzz/README).
#
#   scripts/hardening.sh [--fuzz-seconds N] [--no-fuzz] [--no-sanitize] [-j N]
#
# Build directories: $ZSSO_ASAN_BUILD_DIR (default build-asan) and
# $ZSSO_FUZZ_BUILD_DIR (default build-fuzz) in the checkout.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

fuzz_seconds=30
do_fuzz=1
do_sanitize=1
jobs=$(nproc)
while (($#)); do
  case $1 in
    --fuzz-seconds) fuzz_seconds=$2; shift 2 ;;
    --fuzz-seconds=*) fuzz_seconds=${1#*=}; shift ;;
    --no-fuzz) do_fuzz=0; shift ;;
    --no-sanitize) do_sanitize=0; shift ;;
    -j) jobs=$2; shift 2 ;;
    -j*) jobs=${1#-j}; shift ;;
    -h|--help) sed -n '2,12p' "$0" | cut -c3-; exit 0 ;;
    *) echo "hardening.sh: unknown argument $1 (try --help)" >&2; exit 2 ;;
  esac
done
[[ $fuzz_seconds =~ ^[0-9]+$ ]] || { echo "hardening.sh: --fuzz-seconds wants a number" >&2; exit 2; }

asan_build=${ZSSO_ASAN_BUILD_DIR:-$root/build-asan}
fuzz_build=${ZSSO_FUZZ_BUILD_DIR:-$root/build-fuzz}
started=$SECONDS
step() { printf '\n=== hardening: %s (%ds so far)\n' "$*" $((SECONDS - started)); }

# Labels ctest knows in a build directory, as a regex of the wanted ones.
label_regex() {
  local have want=() l
  have=$(ctest --test-dir "$1" --print-labels | sed -n 's/^  //p')
  for l in "${@:2}"; do
    if grep -qx "$l" <<<"$have"; then want+=("$l"); fi
  done
  local IFS='|'
  echo "${want[*]}"
}

# Linux-PAM 1.5.2 (Debian 12): when pam_start cannot read the PAM
# configuration (e2e test_missing_pam_service_is_503), it frees the handle but
# not the 96-byte module table _pam_init_handlers allocated; fixed upstream in
# 1.6.0 (linux-pam/linux-pam#597, "pam_start: free handlers on handler init
# failure"). LSan finds it only now and then (a stale copy of the pointer on
# the stack usually hides it). A report is that leak when it holds that one
# block and nothing else, allocated directly in libpam. Past that frame the
# fast unwinder reads junk (libpam has no frame pointers), which may resolve
# to any mapped object, so later frames are not looked at. A handle we forgot
# to pam_end leaks dozens of blocks, so it never matches; an LSan suppression
# could not tell the two apart.
known_libpam_leak() {
  local f=$1
  [[ $(grep -c 'ERROR: ' "$f") == 1 ]] && grep -q 'ERROR: LeakSanitizer: detected memory leaks' "$f" &&
    [[ $(grep -cE '^(Direct|Indirect) leak of' "$f") == 1 ]] &&
    grep -q '^Direct leak of 96 byte(s) in 1 object(s) allocated from:' "$f" &&
    grep -qE '^ +#1 0x[0-9a-f]+ +\(/[^ ]*/libpam\.so\.0\+0x[0-9a-f]+\)$' "$f"
}

# A PAM module that does not free the answers our conversation function gave
# it (PAM's contract: the module frees them). pam_oath from libpam-oath does
# not, seen in the multi-step tests. Such a report holds only leaks allocated
# in converse() (the answer array, or its malloc_copy of an answer), called
# through answer_prompts() straight from a PAM module other than ours: one
# pam_end has unloaded ("<unknown module>"), or one still mapped because the
# warm broker's listener holds the service open (".../security/pam_oath.so+0x..").
# libpam itself and our own code never call the conversation from there, and
# our failure paths free before returning.
known_module_conversation_leak() {
  local f=$1 blocks ok
  [[ $(grep -c 'ERROR: ' "$f") == 1 ]] && grep -q 'ERROR: LeakSanitizer: detected memory leaks' "$f" || return 1
  blocks=$(grep -cE '^(Direct|Indirect) leak of' "$f")
  ok=$(awk '/^(Direct|Indirect) leak of/ {inb=1; seen=0; next}
            inb && / in answer_prompts .*pam_login\.cpp/ {seen=1; next}
            inb && seen == 1 { if ($0 ~ /\((<unknown module>|\/[^ ]*\/security\/pam_[a-z0-9_]+\.so\+0x[0-9a-f]+)\)$/ &&
                                 $0 !~ /pam_zendesk\.so/) good++; inb=0; seen=0 }
            END {print good+0}' "$f")
  [[ $blocks -ge 1 && $ok == "$blocks" ]] &&
    ! grep -E '^ +#1 ' "$f" | grep -qvE ' in (converse|malloc_copy) .*helper/login/pam_login\.cpp'
}

if ((do_sanitize)); then
  step "sanitizer build (ASan + UBSan, gcc) in $asan_build"
  # libcrypt is linked into every sanitized program on purpose: gcc 12's ASan
  # intercepts crypt()/crypt_r() and resolves the real ones at start-up; when
  # pam_unix.so pulls libcrypt in later, the interceptor calls address 0
  # (google/sanitizers#1365, GCC PR 111057).
  # -O1, as ASan's own documentation advises: reports stay exact (fewer
  # frames inlined away) and gcc instruments nlohmann/json's templates in
  # two thirds of -O2's time (compile CPU 1528 s -> 992 s, BENCHMARKS.md
  # "CI time").
  cmake -S "$root" -B "$asan_build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g -DNDEBUG" -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g -DNDEBUG" \
    -DZSSO_SANITIZE="address;undefined" -DZSSO_BENCH=OFF \
    "-DCMAKE_EXE_LINKER_FLAGS=-Wl,--push-state,--no-as-needed -lcrypt -Wl,--pop-state" >/dev/null
  cmake --build "$asan_build" -j"$jobs"

  labels=$(label_regex "$asan_build" unit cli pam e2e broker fuzz sync)
  # Not under sanitizers: memcheck cannot run ASan programs (pam.Valgrind runs
  # in the normal build), LeanBinary pins the release build's NEEDED list, and
  # the nginx runs repeat the Apache cases through the same CGI code.
  skip='^(pam\.Valgrind|e2e\.LeanBinary|e2e\.nginx\..*)$'
  step "sanitizer build: ctest -L '$labels' -E '$skip'"
  # The tests give Apache, fcgiwrap and the broker a private /tmp (the
  # sandbox's own folder mounted over it, tests/broker/broker_wire.py
  # with_private_tmp). A report folder or suppressions file under /tmp is out
  # of their reach: with the checkout in /tmp, every CGI's and broker's
  # report was lost and this pass saw none. Then both go to /var/tmp.
  reports=$asan_build/sanitizer-reports
  case $(realpath -m "$reports") in
    /tmp/*) rm -rf "$reports"
            reports=$(mktemp -d /var/tmp/zsso-sanitizer-reports.XXXXXX)
            echo "sanitizer reports go to $reports (the build is under /tmp, hidden from a private /tmp)" ;;
    *) rm -rf "$reports"; mkdir -p "$reports" ;;
  esac
  chmod 1777 "$reports"   # brokers and CGIs may run as other users
  install -m 0644 "$root/scripts/hardening-lsan.supp" "$reports/lsan.supp"
  # Every finding is fatal and also lands in $reports, so one in a process
  # whose exit status a test does not see (a CGI under Apache, a broker child)
  # still fails this script.
  # Allocation stacks stay fast-unwound on purpose: they stop inside libpam
  # (no frame pointers), so a handle we forgot to pam_end is reported. Full
  # stacks (fast_unwind_on_malloc=0) would run through pam_wrapper's frames,
  # and its suppression (hardening-lsan.supp) would then hide that leak.
  export ASAN_OPTIONS="halt_on_error=1:abort_on_error=0:detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1:verify_asan_link_order=0:log_path=$reports/asan"
  export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$reports/ubsan"
  export LSAN_OPTIONS="suppressions=$reports/lsan.supp:print_suppressions=0"
  # Plain hosts (pamtester, libpam under pam_wrapper) can load the sanitized
  # pam_zendesk.so only with the ASan runtime preloaded first; libstdc++ and
  # libcrypt ride along so the runtime finds __cxa_throw and crypt_r at start.
  # tests/pam/pam_sandbox.py adds this to LD_PRELOAD (and turns off the
  # wrappers' RTLD_DEEPBIND, which ASan refuses) when it is set.
  asan_runtime=$(readelf -d "$asan_build/pam_module/pam_zendesk.so" 2>/dev/null |
                 sed -n 's/.*NEEDED.*\[\(libasan\.so[.0-9]*\)\].*/\1/p')
  export ZSSO_SANITIZER_PRELOAD="${asan_runtime:-libasan.so.8} libstdc++.so.6 libcrypt.so.1"
  # A canary: a leak in a process with a private /tmp, as the tests make
  # them, must reach $reports, or this pass could not fail.
  canary=$(mktemp -d /var/tmp/zsso-canary.XXXXXX)
  printf '#include <stdlib.h>\nvoid *volatile p;\nint main(void) { p = malloc(4242); p = 0; return 0; }\n' >"$canary/leak.c"
  gcc -fsanitize=address -g -o "$canary/leak" "$canary/leak.c"
  if [[ $(id -u) == 0 ]] && unshare --mount --propagation private true 2>/dev/null; then
    unshare --mount --propagation private sh -c 'mount --bind "$0" /tmp && exec "$1"' "$canary" "$canary/leak" || true
  else
    "$canary/leak" || true
  fi
  canary_reports=$(grep -ls 'Direct leak of 4242 byte' "$reports"/asan.* || true)
  if [[ -z $canary_reports ]]; then
    echo "hardening: a sanitizer report from a process with a private /tmp did not reach $reports" >&2
    exit 1
  fi
  rm -f $canary_reports
  rm -rf "$canary"
  status=0
  if [[ -n $labels ]]; then
    ctest --test-dir "$asan_build" -L "$labels" -E "$skip" -j"$jobs" --output-on-failure --timeout 900 || status=$?
  else
    echo "no test suites to run yet"
  fi
  unset ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS ZSSO_SANITIZER_PRELOAD
  for f in "$reports"/asan.* "$reports"/ubsan.*; do
    [[ -e $f ]] || continue
    if known_libpam_leak "$f"; then
      echo "hardening: $(basename "$f"): Linux-PAM 1.5.2's pam_start leak on an unreadable PAM configuration (linux-pam#597), not ours; ignored"
      continue
    fi
    if known_module_conversation_leak "$f"; then
      echo "hardening: $(basename "$f"): a PAM module did not free its conversation answers (pam_oath does not), not ours; ignored"
      continue
    fi
    echo "hardening: sanitizer report $f:" >&2
    cat "$f" >&2
    # A report without its SUMMARY line was cut short: the process was killed
    # while writing it (a stop signal during its exit), so what leaked is not
    # known. The broker's children block stop signals once they have answered
    # (authd::end_child) for this reason.
    grep -q '^SUMMARY: ' "$f" ||
      echo "hardening: $(basename "$f") has no SUMMARY line: the process was killed while writing it" >&2
    status=1
  done
  if ((status != 0)); then
    echo "hardening: the sanitizer build failed" >&2
    exit 1
  fi
  echo "sanitizer build: no findings (reports: $reports)"
fi

if ((do_fuzz)); then
  if ! command -v clang++-14 >/dev/null; then
    echo "hardening: the fuzzers need clang-14 and libfuzzer-14-dev (scripts/debian-packages.txt)" >&2
    exit 1
  fi
  step "libFuzzer build (clang-14) in $fuzz_build"
  CC=clang-14 CXX=clang++-14 cmake -S "$root" -B "$fuzz_build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DZSSO_FUZZ=ON -DZSSO_BENCH=OFF -DZSSO_FUZZ_SECONDS="$fuzz_seconds" >/dev/null
  cmake --build "$fuzz_build" --target zsso_fuzzers -j"$jobs"
  step "fuzz smoke runs, ${fuzz_seconds}s per target"
  ctest --test-dir "$fuzz_build" -L fuzz -j"$jobs" --output-on-failure
  # The figures the issue asks for: executions per target.
  for log in "$fuzz_build"/tests/fuzz/work/*/fuzz.log; do
    printf '%-16s %s\n' "$(basename "$(dirname "$log")")" \
      "$(sed -n 's/^stat::number_of_executed_units: *//p' "$log") executions"
  done
fi

step "done in $((SECONDS - started))s"
