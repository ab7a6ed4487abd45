#!/bin/bash
# Where systemd-machined runs, containers are machines: machinectl list, status and terminate work on
# them, they are unregistered when they stop, and a machined that starts later learns of the running
# ones. Limits set through systemd survive daemon-reload and daemon-reexec (other runtimes lose what
# they wrote behind systemd's back).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/vessel.sh"

command -v machinectl >/dev/null || skip "systemd-container (machinectl, machined) is not installed"
on_exit vcleanup mc1
on_exit vcleanup mc2

systemctl start systemd-machined.service
vcall RunContainer 'ssa(sv)' mc1 "$IMAGE" 3 Command as 2 sleep 1000 MemoryMax t $((96 << 20)) TasksMax t 33 >/dev/null
wait_until 10 sh -c 'machinectl list --no-legend | grep -q "^mc1 "'
assert_contains "$(machinectl list --no-legend)" "container vessel" "class and service"
st=$(machinectl status mc1)
assert_contains "$st" "Unit: vessel-mc1.scope" "machine's unit is the container's scope"
assert_contains "$st" "Leader: $(vprop mc1 Leader)" "machine's leader"
assert_eq "$(vprop mc1 Id)" "$(busctl get-property org.freedesktop.machine1 /org/freedesktop/machine1/machine/mc1 \
    org.freedesktop.machine1.Machine Id | sed 's/^ay 16 //' | xargs printf '%02x')" "machine id is the container id"

# limits hold across daemon-reload and daemon-reexec
mem=$(scope_cgroup mc1 memory)
[ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ] && mem=/sys/fs/cgroup/machine.slice/vessel-mc1.scope
read_mem() { cat "$mem/memory.limit_in_bytes" 2>/dev/null || cat "$mem/memory.max"; }
assert_eq $((96 << 20)) "$(read_mem)" "memory limit"
systemctl daemon-reload
assert_eq $((96 << 20)) "$(read_mem)" "memory limit after daemon-reload"
systemctl daemon-reexec
wait_until 20 sh -c 'systemctl is-system-running | grep -qE "running|degraded"'
assert_eq $((96 << 20)) "$(read_mem)" "memory limit after daemon-reexec"
assert_eq 33 "$(systemctl show -P TasksMax vessel-mc1.scope)" "TasksMax after daemon-reexec"

# terminate through machined: the container is down, exited, and no longer a machine
machinectl terminate mc1
wait_until 10 sh -c '[ "$(busctl get-property io.vessel1 /io/vessel1/container/mc1 io.vessel1.Container State)" = "s \"exited\"" ]'
wait_until 10 sh -c '! machinectl list --no-legend | grep -q "^mc1 "'

# a plain stop unregisters too
vrun_sh mc2 'sleep 1000'
wait_until 10 sh -c 'machinectl list --no-legend | grep -q "^mc2 "'
vcall StopContainer s mc2 >/dev/null
wait_until 10 sh -c '! machinectl list --no-legend | grep -q "^mc2 "'

# without machined nothing fails
systemctl stop systemd-machined.service
vcall StartContainer s mc2 >/dev/null
assert_eq running "$(vstate mc2)" "runs without machined"

# a vesseld started while machined is down asks nothing of it: no RegisterMachine goes out (one would
# come back an error, after a round trip through dbus-daemon for every container started)
vcall StopContainer s mc2 >/dev/null
systemctl restart vesseld.service
mon=$(mktemp)
bus_monitor_start "$mon" "type='method_call',interface='org.freedesktop.machine1.Manager'"
vcall StartContainer s mc2 >/dev/null
assert_eq running "$(vstate mc2)" "started by a vesseld that never saw machined"
vcall RunContainer 'ssa(sv)' mc3 "$IMAGE" 2 Command as 1 true AutoRemove b true >/dev/null
on_exit vcleanup mc3
sleep 0.5
bus_monitor_stop
grep -q RegisterMachine "$mon" && fail "RegisterMachine sent while machined was not running: $(grep -A1 RegisterMachine "$mon")"

# machined coming (back) later: the running containers become machines then
systemctl start systemd-machined.service
wait_until 10 sh -c 'machinectl list --no-legend | grep -q "^mc2 "'
assert_contains "$(machinectl status mc2)" "Leader: $(vprop mc2 Leader)" "registered when machined appeared"
