#!/bin/bash
# Many clients at once: two creates of one name, exactly one wins; parallel runs of many containers;
# no zombie survives in a container whose app forks and never reaps.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/vessel.sh"

on_exit vcleanup race
on_exit vcleanup zomb
on_exit sh -c 'for i in $(seq 20); do busctl call io.vessel1 /io/vessel1 io.vessel1.Manager RemoveContainer sb par$i true >/dev/null 2>&1; done'

# the race: 8 clients create "race" at once
for i in $(seq 8); do
    (vcall CreateContainer 'ssa(sv)' race "$IMAGE" 1 Command as 1 true >/dev/null 2>"/tmp/race.$i" && echo ok >"/tmp/race.$i.ok") &
done
wait
wins=$(ls /tmp/race.*.ok 2>/dev/null | wc -l)
assert_eq 1 "$wins" "exactly one create wins"
assert_eq 7 "$(grep -l "exists already" /tmp/race.* | wc -l)" "the others get ContainerExists"

# 20 parallel runs, each exits with its number
for i in $(seq 20); do
    (vcall RunContainer 'ssa(sv)' par$i "$IMAGE" 1 Command as 3 sh -c "exit $i" >/dev/null &&
        vcall WaitContainer s par$i >"/tmp/par.$i") &
done
wait
for i in $(seq 20); do assert_eq "ii $i 0" "$(cat /tmp/par.$i)" "parallel container $i"; done

# zombies: the app leaves orphans behind (double fork), which then exit; they are re-parented to the
# container's pid 1, vessel-init, which must reap them
vrun_sh zomb 'for i in 1 2 3 4 5; do (sh -c "sleep 0.2; exit 0" &); done; exec sleep 1000'
leader=$(vprop zomb Leader)
sleep 1
zombies=0
for p in $(pgrep -P "$leader"); do
    [ "$(ps -o stat= -p "$p" | cut -c1)" = Z ] && zombies=$((zombies + 1))
done
assert_eq 0 "$zombies" "zombies under vessel-init"
[ "$(pgrep -P "$leader" | wc -l)" -eq 1 ] || fail "vessel-init should have just the app as child: $(pgrep -P "$leader" | tr '\n' ' ')"

# one name, run again and again with --rm: the wait that vesselctl sends right behind RunContainer
# finds the status even when the container was removed first, and the name's next start does not trip
# over the scope systemd is still letting go of
for i in $(seq 30); do
    rc=0
    vesselctl run --rm --name again --network none "$IMAGE" sh -c "exit $((i % 5))" || rc=$?
    assert_eq $((i % 5)) "$rc" "run --rm number $i"
done
