#!/bin/bash
# Networking: bridged containers reach each other by address and by name, reach the outside through
# NAT, publish ports that answer on the host's loopback and from a "remote" namespace; none has only
# lo, host shares the host's; nothing is left after removal or after a kill -9 of vesseld.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/vessel.sh"

for n in nw1 nw2 nwp nwp2 nwh2 nwn nwh nwx nwk; do on_exit vcleanup $n; done
# this test restarts vesseld three times: give the next test systemd's full start budget back
on_exit systemctl reset-failed vesseld.service vesseld.socket

# a "remote host": its own namespace, on a link of the box's (192.0.2.0/24), no route to the subnet
ip netns add nwremote
on_exit ip netns del nwremote
ip link add nwr0 type veth peer name nwr1 netns nwremote
on_exit ip link del nwr0
ip addr add 192.0.2.1/24 dev nwr0
ip link set nwr0 up
ip -n nwremote addr add 192.0.2.2/24 dev nwr1
ip -n nwremote link set nwr1 up
ip -n nwremote link set lo up

www=$(mktemp -d /srv/nw-www.XXXXXX)
on_exit rm -rf "$www"
echo hi-remote >"$www/index.html"
ip netns exec nwremote busybox httpd -f -p 192.0.2.2:7001 -h "$www" &
remote_httpd=$!
on_exit kill $remote_httpd

# in a container's namespaces, its root
cin() { # NAME CMD...
    local leader
    leader=$(vprop "$1" Leader)
    shift
    nsenter -t "$leader" -m -u -i -n -p -r -w -- "$@"
}
# the IPv4 address of a container, from its Addresses property ("1 2 4 10 88 0 2" after vprop)
addr4() {
    vprop "$1" Addresses | awk '{ if ($1 > 0 && $2 == 2) printf "%s.%s.%s.%s", $4, $5, $6, $7 }'
}
httpd_sh='mkdir -p /tmp/www && echo hi-$HOSTNAME >/tmp/www/index.html && exec httpd -f -p 80 -h /tmp/www'
# polls: a container's httpd listens a moment after RunContainer returns
wait_answer() { # EXPECTED CMD...
    local want=$1
    shift
    wait_until 5 sh -c '[ "$("$@" 2>/dev/null)" = "$0" ]' "$want" "$@"
}

# --- two bridged containers (bridge is the default) ---
vrun_sh nw1 "$httpd_sh"
vrun_sh nw2 "$httpd_sh"
assert_eq bridge "$(vprop nw1 Network)" "default network"
a1=$(addr4 nw1)
a2=$(addr4 nw2)
[[ $a1 =~ ^10\.88\.[0-9]+\.[0-9]+$ ]] || fail "nw1 address '$a1' not in 10.88.0.0/16"
[ "$a1" != "$a2" ] || fail "both containers got $a1"
assert_contains "$(ip -o link show vessel0)" "state UP" "vessel0 is up"
assert_contains "$(ip -o addr show dev vessel0)" "inet 10.88.0.1/16" "vessel0 has the gateway address"
assert_contains "$(cin nw1 ip -o addr show dev eth0)" "inet $a1/16" "eth0 of nw1"
assert_contains "$(cin nw1 ip route)" "default via 10.88.0.1" "default route of nw1"

# by address and by name, both ways
cin nw1 ping -c1 -W2 "$a2" >/dev/null || fail "nw1 cannot ping nw2 at $a2"
cin nw2 ping -c1 -W2 nw1 >/dev/null || fail "nw2 cannot ping nw1 by name"
wait_answer hi-nw2 nsenter -t "$(vprop nw1 Leader)" -m -n -r -- timeout 5 wget -q -O- http://nw2/
assert_eq hi-nw1 "$(cin nw2 timeout 5 wget -q -O- "http://$a1/")" "nw2 → nw1 by address"
assert_contains "$(cin nw1 cat /etc/hosts)" "$a1	nw1" "own line in /etc/hosts"

# a later container is added to the others' /etc/hosts, and removed again when it goes
vrun_sh nwx 'sleep 1000'
ax=$(addr4 nwx)
wait_until 5 sh -c "nsenter -t $(vprop nw1 Leader) -m -r -- grep -q '^$ax	nwx' /etc/hosts"
cin nw1 ping -c1 -W2 nwx >/dev/null || fail "nw1 cannot reach nwx by name"
vcall RemoveContainer sb nwx true >/dev/null
wait_until 5 sh -c "! nsenter -t $(vprop nw1 Leader) -m -r -- grep -q nwx /etc/hosts"

# --- outbound, through NAT: the remote namespace has no route to 10.88.0.0/16 ---
assert_eq hi-remote "$(cin nw1 timeout 5 wget -q -O- http://192.0.2.2:7001/)" "nw1 → remote through NAT"
assert_contains "$(nft list table inet vessel)" "ip saddr 10.88.0.0/16 ip daddr != 10.88.0.0/16 masquerade" "masquerade"

# --- published ports ---
vcall RunContainer 'ssa(sv)' nwp "$IMAGE" 2 Command as 3 sh -c "$httpd_sh" \
    PublishPorts 'a(sqq)' 1 tcp 8080 80 >/dev/null
wait_answer hi-nwp timeout 5 busybox wget -q -O- http://127.0.0.1:8080/
assert_eq hi-nwp "$(ip netns exec nwremote timeout 5 busybox wget -q -O- http://192.0.2.1:8080/)" "published port from remote"
assert_contains "$(nft list table inet vessel)" "dnat ip to $(addr4 nwp):80" "DNAT rule"

# taken: by another container, by a program on the host; only with bridge
out=$(vcall RunContainer 'ssa(sv)' nwp2 "$IMAGE" 2 Command as 2 sleep 100 PublishPorts 'a(sqq)' 1 tcp 8080 81 2>&1 || true)
assert_contains "$out" "Port 8080/tcp is published by container nwp" "a port another container publishes"
# refused before systemd was asked: the container stays, created, with its record written
assert_eq created "$(vstate nwp2)" "a run refused for its port leaves the container created"
[ -e "/var/lib/vessel/containers/$(vprop nwp2 Id)/container.json" ] || fail "no record of the refused run's container"
busybox httpd -f -p 127.0.0.1:8181 -h "$www" &
host_httpd=$!
on_exit kill $host_httpd
wait_until 5 sh -c 'timeout 5 busybox wget -q -O- http://127.0.0.1:8181/ >/dev/null'
out=$(vcall RunContainer 'ssa(sv)' nwh2 "$IMAGE" 2 Command as 2 sleep 100 PublishPorts 'a(sqq)' 1 tcp 8181 80 2>&1 || true)
assert_contains "$out" "Port 8181/tcp is in use on the host" "a port a host program listens on"
out=$(vcall CreateContainer 'ssa(sv)' nwn "$IMAGE" 3 Command as 2 sleep 100 Network s none PublishPorts 'a(sqq)' 1 tcp 8282 80 2>&1 || true)
assert_contains "$out" "Invalid setting PublishPorts: ports can only be published with Network=bridge" "PublishPorts without bridge"
# the failed starts left nothing: no address of theirs, no veth
assert_eq 3 "$(ip -o link | grep -c ' vsl')" "one veth per running container"

# --- none: only lo, up; host: the host's interfaces ---
vcall RunContainer 'ssa(sv)' nwn "$IMAGE" 2 Command as 2 sleep 1000 Network s none >/dev/null
assert_eq "lo" "$(cin nwn ip -o link | awk -F': ' '{print $2}' | tr '\n' ' ' | sed 's/ $//')" "none has only lo"
cin nwn ping -c1 -W2 127.0.0.1 >/dev/null || fail "lo of a none container is not up"
assert_eq "0" "$(vprop nwn Addresses)" "no address for none"
# its namespace came from vesseld's pool of ready ones, or was made at its start: its own either way
nsn=$(readlink /proc/"$(vprop nwn Leader)"/ns/net)
[ "$nsn" != "$(readlink /proc/self/ns/net)" ] || fail "none shares the host's network namespace"
for l in $(vcall ListContainers | grep -o '"/io/vessel1/container/[^"]*"' | tr -d '"'); do
    [ "$l" = /io/vessel1/container/nwn ] && continue
    p=$(busctl get-property io.vessel1 "$l" io.vessel1.Container Leader | awk '{ print $2 }')
    [ "$p" = 0 ] && continue
    [ "$(readlink /proc/"$p"/ns/net)" != "$nsn" ] || fail "nwn shares its network namespace with $l"
done
vcall RunContainer 'ssa(sv)' nwh "$IMAGE" 2 Command as 2 sleep 1000 Network s host >/dev/null
assert_contains "$(cin nwh ip -o link)" "nwr0" "host sees the host's interfaces"
assert_eq "$(readlink /proc/self/ns/net)" "$(readlink /proc/"$(vprop nwh Leader)"/ns/net)" "host's namespace"

# --- addresses survive a restart of vesseld, without duplicates afterwards ---
systemctl restart vesseld.service
assert_eq "$a1" "$(addr4 nw1)" "nw1 keeps its address across a restart"
vrun_sh nwx 'sleep 1000'
ax=$(addr4 nwx)
for a in "$a1" "$a2" "$(addr4 nwp)"; do [ "$ax" != "$a" ] || fail "address $ax handed out twice"; done
assert_eq hi-nwp "$(timeout 5 busybox wget -q -O- http://127.0.0.1:8080/)" "published port after a restart"
vcall RemoveContainer sb nwx true >/dev/null

# --- removal takes the veth, the address and the rules with it ---
vcall RemoveContainer sb nwp true >/dev/null
rules=$(nft list table inet vessel)
case $rules in *dnat*) fail "DNAT rule left after removal: $rules" ;; esac
assert_fails timeout 5 busybox wget -q -O- http://127.0.0.1:8080/
for n in nw1 nw2 nwn nwh; do vcall RemoveContainer sb $n true >/dev/null; done
assert_eq 0 "$(ip -o link | grep -c ' vsl')" "no veth left"
assert_fails ip link show vessel0
assert_fails nft list table inet vessel

# --- kill -9 of vesseld: what belonged to a container that died meanwhile goes at the next start ---
vcall RunContainer 'ssa(sv)' nwk "$IMAGE" 2 Command as 2 sleep 1000 PublishPorts 'a(sqq)' 1 udp 5353 53 >/dev/null
leader=$(vprop nwk Leader)
kill -9 "$(vesseld_pid)"
kill -9 "$leader"
# and a veth of a container that never existed, as a crash mid-start could leave
ip link add vsl0123456789ab type veth peer name nwstray
wait_until 10 sh -c '! kill -0 '"$leader"' 2>/dev/null'
systemctl start vesseld.service
assert_eq exited "$(vstate nwk)" "nwk exited while vesseld was away"
assert_eq 0 "$(ip -o link | grep -c -e ' vsl' -e nwstray)" "no veth left after kill -9 + restart"
assert_fails ip link show vessel0
assert_fails nft list table inet vessel
vcall RemoveContainer sb nwk true >/dev/null
echo "test-network: ok"
