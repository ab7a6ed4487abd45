#!/bin/bash
# No leak and no memory error in vesseld's steady state, under valgrind: a daemon that re-adopts running
# containers and serves every kind of call (reads, updates, stops, kills, removals, creations, bad
# input, private connections coming and going) ends with nothing definitely lost and no error.
# (valgrind 3.19 lacks openat2, which a container's first process needs, so the containers are started
# by the ordinary vesseld before the valgrind one takes over.)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/vessel.sh"

command -v valgrind >/dev/null || skip "valgrind is not installed"
# an AddressSanitizer binary cannot run under valgrind; the plain build's run of this test covers it
grep -qa __asan_init /usr/libexec/vessel/vesseld && skip "vesseld is built with AddressSanitizer, which valgrind cannot run"
supp=$VESSEL_SRC/tests/valgrind/vessel.supp
log=/run/vesseld-valgrind.log
for n in vg1 vg2 vg3 vg4 vg5; do on_exit vcleanup $n; done
on_exit sh -c 'systemctl stop vesseld-valgrind.service 2>/dev/null; systemctl unmask --runtime vesseld.service; systemctl reset-failed; systemctl start vesseld.socket'

for n in vg1 vg2 vg3; do vrun_sh $n 'trap "exit 0" TERM; while :; do sleep 0.1; done'; done
vrun_sh vg4 'exit 4'
vcall WaitContainer s vg4 >/dev/null

# hand over to a vesseld under valgrind; bus activation must not start the ordinary one meanwhile
systemctl stop vesseld.service vesseld.socket
systemctl mask --runtime vesseld.service
rm -f "$log"
systemd-run --quiet --unit=vesseld-valgrind -p KillMode=mixed \
    valgrind --leak-check=full --show-leak-kinds=definite --errors-for-leak-kinds=definite \
    --suppressions="$supp" --error-exitcode=99 --log-file="$log" /usr/libexec/vessel/vesseld
wait_until 60 busctl status io.vessel1
assert_eq running "$(vstate vg1)" "re-adopted under valgrind"

for i in $(seq 20); do
    vcall ListContainers >/dev/null
    busctl call io.vessel1 /io/vessel1 org.freedesktop.DBus.ObjectManager GetManagedObjects >/dev/null
done
for n in vg1 vg2 vg3 vg4; do
    busctl call io.vessel1 "$(vcall GetContainer s $n | cut -d'"' -f2)" org.freedesktop.DBus.Properties GetAll s \
        io.vessel1.Container >/dev/null
done
busctl introspect io.vessel1 /io/vessel1 >/dev/null
vcall UpdateContainer 'sa(sv)' vg1 3 MemoryMax t $((64 << 20)) TasksMax t 40 CPUWeight t 50 >/dev/null
vcall CreateContainer 'ssa(sv)' vg5 "$IMAGE" 4 Command as 2 sleep 1 Environment as 1 A=b Labels 'a(ss)' 1 k v \
    BindPaths 'a(ssb)' 1 /srv /srv true >/dev/null
vcall RemoveContainer sb vg5 false >/dev/null
for bad in "-x" "a..b"; do vcall CreateContainer 'ssa(sv)' "$bad" "$IMAGE" 1 Command as 1 true >/dev/null 2>&1 || true; done
vcall CreateContainer 'ssa(sv)' x "$IMAGE" 1 MemoryMax s 1G >/dev/null 2>&1 || true
vcall CreateContainer 'ssa(sv)' x "$IMAGE" 1 Bogus s 1 >/dev/null 2>&1 || true
vcall GetContainer s nope >/dev/null 2>&1 || true
vcall ListImages >/dev/null 2>&1 || true
for i in $(seq 5); do
    busctl --address=unix:path=/run/vessel/io.vessel1 call io.vessel1 /io/vessel1 io.vessel1.Manager ListContainers >/dev/null
done
vcall StopContainer s vg1 >/dev/null
vcall KillContainer ssi vg2 leader 9 >/dev/null
vcall WaitContainer s vg2 >/dev/null
vcall RemoveContainer sb vg3 true >/dev/null
vcall RemoveContainer sb vg4 false >/dev/null

# the end: SIGTERM, then valgrind's verdict
pid=$(systemctl show -P MainPID vesseld-valgrind.service)
kill -TERM "$pid"
wait_until 60 sh -c '! systemctl is-active -q vesseld-valgrind.service'
cat "$log" | sed -n '/HEAP SUMMARY/,$p'
grep -q "definitely lost: 0 bytes in 0 blocks" "$log" || grep -q "no leaks are possible" "$log" || fail "vesseld leaked"
grep -q "ERROR SUMMARY: 0 errors" "$log" || { cat "$log"; fail "valgrind found memory errors"; }
assert_eq success "$(systemctl show -P Result vesseld-valgrind.service 2>/dev/null || echo success)" "valgrind's exit"
