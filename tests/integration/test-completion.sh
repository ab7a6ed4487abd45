#!/bin/bash
# The bash completion of vesselctl, as installed: verbs and options from vesselctl's --help, container
# and image names from vesseld, the values of the options that take few, and nothing for the
# container's own command.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/vessel.sh"

COMPLETION=/usr/share/bash-completion/completions/vesselctl
[ -f "$COMPLETION" ] || fail "$COMPLETION is not installed"
# shellcheck source=/dev/null
. "$COMPLETION"

on_exit vcall RemoveImage s cp/img:latest # last: after the containers
on_exit vcleanup cp-run
on_exit vcleanup cp-made

comp() { # WORDS... (the last is the one being completed) → the candidates, sorted, on one line
    COMP_WORDS=("$@")
    COMP_CWORD=$(($# - 1))
    COMPREPLY=()
    _vesselctl
    printf '%s\n' "${COMPREPLY[@]}" | sort | paste -sd' '
}

vesselctl import "$ROOTFS" cp/img >/dev/null
vesselctl run -d --network none --name cp-run cp/img sleep 1000 >/dev/null
vesselctl create --network none --name cp-made cp/img true >/dev/null

# verbs, every one of --help's
verbs=$(comp vesselctl "")
for v in run create restart exec shell logs import export image-status rmi prune df help; do
    assert_contains " $verbs " " $v " "verb $v"
done
assert_eq "restart resume rm rmi run" "$(comp vesselctl r)" "verbs starting with r"
assert_eq "restart resume" "$(comp vesselctl --json res)" "a verb after a global option"
assert_eq "--help --json --no-pager --version" "$(comp vesselctl --)" "global options"

# names: running ones for exec, all for start and rm; images for run and rmi; both for export
assert_eq "cp-run" "$(comp vesselctl exec cp-)" "exec: running containers"
assert_eq "cp-made cp-run" "$(comp vesselctl rm cp-)" "rm: all containers"
assert_eq "cp-made cp-run" "$(comp vesselctl start -- cp-)" "start: all containers"
assert_eq "cp/img:latest" "$(comp vesselctl run cp/)" "run: images"
assert_eq "cp/img:latest" "$(comp vesselctl rmi cp)" "rmi: images"
assert_eq "cp-made cp-run cp/img:latest" "$(comp vesselctl export cp)" "export: images and containers"
assert_eq "cp-made" "$(comp vesselctl logs -n 5 cp-m)" "an option's value is not a name"

# options, from the verb's --help
assert_eq "--memory-high= --memory-reservation= --memory-swap= --memory=" "$(comp vesselctl run --memory)" \
    "run's memory options"
assert_eq "--kill-whom=" "$(comp vesselctl kill --kill)" "kill's option"
assert_eq "" "$(comp vesselctl create --detach)" "create has no --detach"
assert_eq "--follow" "$(comp vesselctl logs --fol)" "logs' --follow"

# the values of options that take few, in both forms (bash splits '--opt=value' at '=')
assert_eq "bridge" "$(comp vesselctl run --network b)" "--network VALUE"
assert_eq "bridge host none" "$(comp vesselctl run --network = "")" "--network=VALUE"
assert_eq "on-failure" "$(comp vesselctl run --restart = on)" "--restart=VALUE"
assert_eq "oci oci-archive" "$(comp vesselctl import --format oci)" "import's formats"
assert_eq "oci-archive" "$(comp vesselctl export --format oci)" "export's formats"
assert_eq "SIGTERM" "$(comp vesselctl kill -s SIGTE)" "signals"

# after the image (run, create) or the container (exec): the container's command, ours to type
assert_eq "" "$(comp vesselctl run -d --name x cp/img "")" "run: nothing after the image"
assert_eq "" "$(comp vesselctl exec -u 0 cp-run "")" "exec: nothing after the container"
assert_eq "cp/img:latest" "$(comp vesselctl run -d --name x -e A=1 "")" "run: the image after options with values"
