#!/bin/bash
# Restarting vesseld, or killing it with SIGKILL, never stops a container; the next vesseld re-adopts
# every running container, and reports the real exit status of one that exited while it was away.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/vessel.sh"

for n in ra1 ra2 ra3; do on_exit vcleanup $n; done

vrun_sh ra1 'sleep 1000'
vrun_sh ra2 'read x </dev/zero; sleep 1000'
vcall RunContainer 'ssa(sv)' ra3 "$IMAGE" 2 Command as 3 sh -c 'while [ ! -e /tmp/go ]; do sleep 0.05; done; exit 5' \
    MemoryMax t $((100 << 20)) >/dev/null
l1=$(vprop ra1 Leader)
l3=$(vprop ra3 Leader)

# a clean restart
systemctl restart vesseld.service
kill -0 "$l1" || fail "ra1 died with the restart"
assert_eq running "$(vstate ra1)" "ra1 re-adopted"
assert_eq "$l1" "$(vprop ra1 Leader)" "same leader"
assert_eq $((100 << 20)) "$(vprop ra3 MemoryMax)" "settings survive"

# SIGKILL: the same
kill -9 "$(vesseld_pid)"
wait_until 10 sh -c '! systemctl is-active -q vesseld.service || [ "$(systemctl show -P NRestarts vesseld.service)" -gt 0 ]'
kill -0 "$l1" || fail "ra1 died with vesseld"
assert_eq running "$(vstate ra1)" "ra1 re-adopted after kill -9"

# ra3 exits while vesseld is down: its status is known afterwards
# (this test starts vesseld five times within systemd's 10 s start limit; on a slow host the next
# activation would hit it: start the count anew)
systemctl reset-failed vesseld.service vesseld.socket 2>/dev/null || true
systemctl stop vesseld.service
touch "/proc/$l3/root/tmp/go"
wait_until 10 sh -c "! kill -0 $l3 2>/dev/null"
assert_eq exited "$(vstate ra3)" "ra3 exited while vesseld was away"
assert_eq 5 "$(vprop ra3 ExitStatus)" "exit status recovered"

# a re-adopted container is still fully managed: stop and wait work, and so does the exit watch
vcall StopContainer s ra1 >/dev/null
assert_eq exited "$(vstate ra1)" "stop after re-adoption"
kill -0 "$l1" 2>/dev/null && fail "ra1 still alive"
vcall KillContainer ssi ra2 leader 9 >/dev/null
wait_until 10 sh -c '[ "$(busctl get-property io.vessel1 /io/vessel1/container/ra2 io.vessel1.Container State)" = "s \"exited\"" ]'
