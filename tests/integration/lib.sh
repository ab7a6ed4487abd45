# lib.sh: sourced by every tests/integration/test-*.sh. The tests run inside
# the test box (tests/harness/vbox) as root, cwd = the repo root, with
#   VESSEL_SRC         the repo root
#   VESSEL_TEST_BUILD  the build directory under test (absolute)
# and vessel installed from that build under /usr, vesseld.socket started.
#
# Exit status: 0 pass, 77 skip (the last "skip: REASON" line is the reason),
# anything else fails. This file turns on `set -euo pipefail`.
#
#   fail MSG                      print MSG (with file:line) and exit 1
#   assert_eq EXPECTED ACTUAL MSG
#   assert_contains HAYSTACK NEEDLE MSG
#   assert_fails CMD...           CMD must exit non-zero
#   wait_until TIMEOUT_SECS CMD...  poll CMD every 0.05 s until it succeeds;
#                                 fail when TIMEOUT_SECS have passed
#   as_user CMD...                run CMD as nobody:nogroup (no groups, no caps)
#   skip REASON                   exit 77
#   on_exit CMD...                run CMD when the test exits, however it
#                                 exits; the last registered runs first
# Use on_exit rather than `trap ... EXIT`: a trap of your own replaces it.

set -euo pipefail

: "${VESSEL_SRC:=$PWD}"
: "${VESSEL_TEST_BUILD:=$VESSEL_SRC/build}"

__vt_where() { # caller's file:line, skipping frames of this file
        local i
        for ((i = 1; i < ${#BASH_SOURCE[@]}; i++)); do
                [ "${BASH_SOURCE[i]}" = "${BASH_SOURCE[0]}" ] && continue
                echo "${BASH_SOURCE[i]##*/}:${BASH_LINENO[i - 1]}"
                return
        done
        echo "line ${BASH_LINENO[${#BASH_LINENO[@]} - 2]:-?}"
}

fail() {
        echo "FAIL: $(__vt_where): $*" >&2
        exit 1
}

assert_eq() {
        [ "$#" -ge 2 ] || fail "assert_eq needs EXPECTED ACTUAL [MSG]"
        [ "$1" = "$2" ] || fail "${3:-assert_eq}: expected '$1', got '$2'"
}

assert_contains() {
        [ "$#" -ge 2 ] || fail "assert_contains needs HAYSTACK NEEDLE [MSG]"
        case $1 in
        *"$2"*) ;;
        *) fail "${3:-assert_contains}: '$2' not found in: $1" ;;
        esac
}

assert_fails() {
        [ "$#" -ge 1 ] || fail "assert_fails needs a command"
        if "$@"; then
                fail "expected to fail, but succeeded: $*"
        fi
}

wait_until() {
        [ "$#" -ge 2 ] || fail "wait_until needs TIMEOUT_SECS CMD..."
        local t=$1 end
        shift
        # microseconds, in integers
        end=$(awk -v t="$t" 'BEGIN { printf "%d", t * 1000000 }')
        end=$((${EPOCHREALTIME/[.,]/} + end))
        while :; do
                if "$@"; then return 0; fi
                if ((${EPOCHREALTIME/[.,]/} >= end)); then
                        fail "timed out after ${t}s waiting for: $*"
                fi
                sleep 0.05
        done
}

as_user() {
        [ "$#" -ge 1 ] || fail "as_user needs a command"
        setpriv --reuid=nobody --regid=nogroup --clear-groups --inh-caps=-all \
                --reset-env -- "$@"
}

skip() {
        echo "skip: ${*:-no reason given}"
        exit 77
}

__vt_on_exit=()
on_exit() {
        [ "$#" -ge 1 ] || fail "on_exit needs a command"
        local q
        printf -v q '%q ' "$@"
        __vt_on_exit+=("$q")
}
__vt_exit() {
        local rc=$? i
        trap - EXIT ERR
        set +e
        for ((i = ${#__vt_on_exit[@]} - 1; i >= 0; i--)); do
                eval "${__vt_on_exit[i]}" || echo "on_exit: failed: ${__vt_on_exit[i]}" >&2
        done
        exit "$rc"
}
trap __vt_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
# say which command killed the test under set -e; a stray 77 from a
# command must not pass for a skip
set -E
trap '__vt_rc=$?; echo "error: $(__vt_where): exit status $__vt_rc: $BASH_COMMAND" >&2; [ "$__vt_rc" = 77 ] && exit 1; exit "$__vt_rc"' ERR
