#!/bin/bash
# IPv6 where enabled ([Network] IPv6=yes): bridged containers get an address from the ULA /64 that
# mirrors their IPv4 one, reach each other over IPv6, reach a remote IPv6 host through NAT, and a
# published port answers over IPv6 from another namespace acting as a remote host.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/vessel.sh"

[ -e /proc/sys/net/ipv6 ] || skip "the kernel has no IPv6"
for n in v6a v6b v6p; do on_exit vcleanup $n; done
on_exit systemctl reset-failed vesseld.service vesseld.socket

mkdir -p /etc/vessel/vesseld.conf.d
printf '[Network]\nIPv6=yes\n' >/etc/vessel/vesseld.conf.d/test-ipv6.conf
on_exit sh -c 'rm -f /etc/vessel/vesseld.conf.d/test-ipv6.conf; systemctl restart vesseld.service'
systemctl restart vesseld.service

# a "remote host" with IPv6 only, on a link of the box's
ip netns add v6remote
on_exit ip netns del v6remote
ip link add v6r0 type veth peer name v6r1 netns v6remote
on_exit ip link del v6r0
ip addr add 2001:db8:6::1/64 dev v6r0 nodad
ip link set v6r0 up
ip -n v6remote addr add 2001:db8:6::2/64 dev v6r1 nodad
ip -n v6remote link set v6r1 up
ip -n v6remote link set lo up
www=$(mktemp -d /srv/v6-www.XXXXXX)
on_exit rm -rf "$www"
echo hi-remote6 >"$www/index.html"
ip netns exec v6remote busybox httpd -f -p '[2001:db8:6::2]:7006' -h "$www" &
remote_httpd=$!
on_exit kill $remote_httpd

cin() { nsenter -t "$(vprop "$1" Leader)" -m -n -r -- "${@:2}"; }
httpd_sh='mkdir -p /tmp/www && echo hi-$HOSTNAME >/tmp/www/index.html && exec httpd -f -p 80 -h /tmp/www'

vrun_sh v6a "$httpd_sh"
vrun_sh v6b 'sleep 1000'
a6=$(cin v6a ip -6 addr show dev eth0 scope global | awk '/inet6/ {print $2}' | cut -d/ -f1)
[[ $a6 == f* ]] || fail "v6a has no IPv6 address on eth0: '$a6'"
# the Addresses property carries both families
addrs=$(busctl get-property io.vessel1 /io/vessel1/container/v6a io.vessel1.Container Addresses)
assert_contains "$addrs" "a(iay) 2 2 4 " "an IPv4 address"
assert_contains "$addrs" " 10 16 " "an IPv6 address"

wait_until 10 sh -c "nsenter -t $(vprop v6b Leader) -m -n -r -- timeout 2 wget -q -O- 'http://[$a6]/' | grep -q hi-v6a"
cin v6b ping -6 -c1 -W2 "$a6" >/dev/null || fail "v6b cannot ping v6a over IPv6"

# out through NAT, over IPv6
assert_eq hi-remote6 "$(cin v6b timeout 5 wget -q -O- 'http://[2001:db8:6::2]:7006/')" "v6b → remote over IPv6"

# a published port, from the remote host over IPv6
vcall RunContainer 'ssa(sv)' v6p "$IMAGE" 2 Command as 3 sh -c "$httpd_sh" \
    PublishPorts 'a(sqq)' 1 tcp 8086 80 >/dev/null
wait_until 10 sh -c "ip netns exec v6remote timeout 2 busybox wget -q -O- 'http://[2001:db8:6::1]:8086/' | grep -q hi-v6p"

# nothing left once they are gone: no address of vessel's prefix (not just any "fd": a link-local
# address such as v6r0's may hold those two letters too)
ula='inet6 fd56:6573:7365:6c00:'
ip -6 addr show | grep -q "$ula" || fail "the bridge has no address of vessel's IPv6 prefix"
for n in v6a v6b v6p; do vcall RemoveContainer sb $n true >/dev/null; done
wait_until 10 sh -c "! ip -6 addr show 2>/dev/null | grep -q '$ula'"
