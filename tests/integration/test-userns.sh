#!/bin/bash
# PrivateUsers: the container's root is an unprivileged host uid from a range of 65536 that no other
# container shares; the image shows its own ownership through idmapped mounts and is never chowned;
# what the container writes belongs to that uid on the host; capabilities stay Docker's default set.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/vessel.sh"

for n in us1 us2; do on_exit vcleanup $n; done

vcall RunContainer 'ssa(sv)' us1 "$IMAGE" 2 Command as 3 sh -c \
    'cat /proc/self/uid_map /proc/self/gid_map; id -u; stat -c "%u:%g %n" /bin/busybox /etc/passwd; touch /mine; stat -c "%u %n" /mine; grep ^CapEff /proc/self/status; echo done; sleep 1000' \
    PrivateUsers s pick >/dev/null
wait_log us1 '^done$'
out=$(vlogs us1)
base=$(echo "$out" | awk 'NR==1 {print $2}')
[ "$base" -ge 524288 ] || fail "uid base $base is not in the unprivileged range"
assert_eq "0 $base 65536" "$(echo "$out" | sed -n 1p | xargs)" "uid_map"
assert_eq "0 $base 65536" "$(echo "$out" | sed -n 2p | xargs)" "gid_map"
assert_eq 0 "$(echo "$out" | sed -n 3p)" "root inside"
assert_contains "$out" "0:0 /bin/busybox" "image files owned by the container's root inside"
assert_contains "$out" "0 /mine" "a new file is root's inside"
assert_contains "$out" $'CapEff:\t00000000a80425fb' "capabilities stay the default set in the user namespace"
# exec -t: its pty is root's and the tty group's inside, as one opened there would be
out=$(script -qec "vesselctl exec -t us1 sh -c 'stat -c %u:%g \$(tty)'" /dev/null </dev/null | tr -d '\r')
assert_eq 0:5 "$out" "exec -t's pty in the user namespace"
# on the host: the app runs as the base uid, its file belongs to it, the image still to root
app=$(pgrep -P "$(vprop us1 Leader)" | head -1)
assert_eq "$base" "$(stat -c %u /proc/"$app")" "the app's host uid"
assert_eq "$base" "$(stat -c %u "/var/lib/vessel/containers/$(vprop us1 Id)/upper/mine")" "host owner of a new file"
assert_eq 0 "$(stat -c %u "$ROOTFS/bin/busybox")" "the image was not chowned"

# a second container gets another range
vcall RunContainer 'ssa(sv)' us2 "$IMAGE" 2 Command as 3 sh -c 'cat /proc/self/uid_map; echo done; sleep 1000' \
    PrivateUsers s yes >/dev/null
wait_log us2 '^done$'
base2=$(vlogs us2 | awk 'NR==1 {print $2}')
[ "$base2" != "$base" ] || fail "two containers share the uid range $base"
[ $((base2 - base)) -ge 65536 ] || [ $((base - base2)) -ge 65536 ] || fail "ranges $base and $base2 overlap"

# the range is recorded: the same after a restart of vesseld and of the container
systemctl restart vesseld.service
vcall StopContainer s us1 >/dev/null
vcall StartContainer s us1 >/dev/null
wait_until 10 sh -c "[ \$(journalctl -q -o cat CONTAINER_ID_FULL=$(vprop us1 Id) | grep -c '^done$') -ge 2 ]"
assert_eq 4 "$(vlogs us1 | grep -c "^ *0 *$base *65536")" "the same range after restarts (uid_map and gid_map, twice)"
