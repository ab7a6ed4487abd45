/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "macro.h"
#include "setup-spec.h"
#include "string-util.h"

static const uint64_t filter[3] = { 0x0102030405060708ULL, 0x1112131415161718ULL, 0x2122232425262728ULL };

static SetupSpec sample(void) {
        static char *argv[] = { (char *) "/bin/sh", (char *) "-c", (char *) "echo \"hi\nthere\"", NULL };
        static char *env[] = { (char *) "A=1", (char *) "B=two words", NULL };
        static SetupBind binds[2] = {
                { .source = "/srv/data", .destination = "/data", .read_only = true },
                { .source = "/srv/one file", .destination = "/etc/x.conf", .read_only = false },
        };
        SetupSpec s = {
                .sync_fd = 3, .status_dir_fd = 4, .journal_fd = -1,
                .out_pipe = { 5, 6 }, .err_pipe = { 7, 8 }, .stdio = { -1, 9, -1 },
                .console_fd = 11, .tty_rows = 30, .tty_columns = 100, .uid_base = 524288, .netns_fd = 10, .userns_fd = -1,
                .read_only = true, .cgroup_unified = false, .host_network = false, .new_netns = true,
                .has_address = true, .ipv6 = true, .prefixlen = 24,
                .rundir = "/run/vessel/containers/abc", .root = "/run/vessel/containers/abc/root",
                .lower = "/srv/a:/srv/b", .upper = "/var/lib/vessel/u", .work = "/var/lib/vessel/w",
                .name = "brave-otter", .id = "0123456789abcdef0123456789abcdef", .image = "dir:/srv/rootfs",
                .binds = binds, .n_binds = 2,
                .argv = argv, /* static: a compound literal would end with this function */
                .app = {
                        .hostname = "box", .environment = env, .user = "1000:1000",
                        .working_directory = NULL, .capabilities = 0xa80425fbULL,
                        .seccomp = filter, .seccomp_size = sizeof filter,
                },
        };
        inet_pton(AF_INET, "10.88.0.5", &s.address);
        inet_pton(AF_INET, "10.88.0.1", &s.gateway);
        inet_pton(AF_INET6, "fd00::5", &s.address6);
        inet_pton(AF_INET6, "fd00::1", &s.gateway6);
        return s;
}

static void serialize(const SetupSpec *s, void **ret, size_t *ret_size) {
        cr_assert(eq(int, setup_spec_serialize(s, ret, ret_size), 0));
}

Test(setup_spec, round_trip_keeps_every_field) {
        SetupSpec in = sample(), out = {};
        void *data;
        size_t size;

        serialize(&in, &data, &size);
        cr_assert(eq(int, setup_spec_parse(data, size, &out), 0));

        cr_assert(eq(int, out.sync_fd, 3));
        cr_assert(eq(int, out.status_dir_fd, 4));
        cr_assert(eq(int, out.journal_fd, -1));
        cr_assert(eq(int, out.out_pipe[1], 6));
        cr_assert(eq(int, out.err_pipe[0], 7));
        cr_assert(eq(int, out.stdio[0], -1));
        cr_assert(eq(int, out.stdio[1], 9));
        cr_assert(eq(int, out.console_fd, 11));
        cr_assert(eq(u16, out.tty_rows, 30));
        cr_assert(eq(u16, out.tty_columns, 100));
        cr_assert(eq(u32, out.uid_base, 524288));
        cr_assert(eq(int, out.netns_fd, 10));
        cr_assert(eq(int, out.userns_fd, -1));
        cr_assert(out.read_only && !out.cgroup_unified && !out.host_network && out.has_address && out.ipv6 && out.new_netns);
        cr_assert(eq(int, out.prefixlen, 24));
        cr_assert(eq(u32, out.address.s_addr, in.address.s_addr));
        cr_assert(eq(u32, out.gateway.s_addr, in.gateway.s_addr));
        cr_assert(eq(int, memcmp(&out.address6, &in.address6, sizeof in.address6), 0));
        cr_assert(eq(int, memcmp(&out.gateway6, &in.gateway6, sizeof in.gateway6), 0));
        cr_assert(eq(str, (char *) out.rundir, (char *) in.rundir));
        cr_assert(eq(str, (char *) out.root, (char *) in.root));
        cr_assert(eq(str, (char *) out.lower, "/srv/a:/srv/b"));
        cr_assert(eq(str, (char *) out.upper, (char *) in.upper));
        cr_assert(eq(str, (char *) out.work, (char *) in.work));
        cr_assert(eq(str, (char *) out.name, "brave-otter"));
        cr_assert(eq(str, (char *) out.id, (char *) in.id));
        cr_assert(eq(str, (char *) out.image, "dir:/srv/rootfs"));
        cr_assert(eq(sz, out.n_binds, 2));
        cr_assert(eq(str, (char *) out.binds[0].source, "/srv/data"));
        cr_assert(eq(str, (char *) out.binds[0].destination, "/data"));
        cr_assert(out.binds[0].read_only && !out.binds[1].read_only);
        cr_assert(eq(str, (char *) out.binds[1].source, "/srv/one file"));
        cr_assert(eq(sz, strv_length(out.argv), 3));
        cr_assert(eq(str, out.argv[2], "echo \"hi\nthere\""));
        cr_assert(eq(str, (char *) out.app.hostname, "box"));
        cr_assert(eq(sz, strv_length(out.app.environment), 2));
        cr_assert(eq(str, out.app.environment[1], "B=two words"));
        cr_assert(eq(str, (char *) out.app.user, "1000:1000"));
        cr_assert(out.app.working_directory == NULL);
        cr_assert(eq(u64, out.app.capabilities, 0xa80425fbULL));
        cr_assert(eq(sz, out.app.seccomp_size, sizeof filter));
        cr_assert(eq(int, memcmp(out.app.seccomp, filter, sizeof filter), 0));
        cr_assert(eq(u64, (uintptr_t) out.app.seccomp % 8, 0), "the filter is not aligned for the kernel");
        setup_spec_done(&out);
}

Test(setup_spec, no_binds_no_seccomp_no_environment) {
        SetupSpec in = sample(), out = {};
        void *data;
        size_t size;

        in.n_binds = 0;
        in.app.seccomp = NULL;
        in.app.seccomp_size = 0;
        in.app.environment = NULL;
        serialize(&in, &data, &size);
        cr_assert(eq(int, setup_spec_parse(data, size, &out), 0));
        cr_assert(eq(sz, out.n_binds, 0));
        cr_assert(out.app.seccomp == NULL);
        cr_assert(eq(sz, strv_length(out.app.environment), 0));
        setup_spec_done(&out);
}

Test(setup_spec, every_truncation_is_rejected) {
        SetupSpec in = sample();
        void *data;
        size_t size;

        serialize(&in, &data, &size);
        for (size_t cut = 0; cut < size; cut++) {
                SetupSpec out = {};
                void *copy = malloc(cut ?: 1);
                int r;

                memcpy(copy, data, cut);
                r = setup_spec_parse(copy, cut, &out);
                /* a cut right between records may still be a whole spec: never one with fewer args */
                if (r == 0) {
                        cr_assert(eq(sz, strv_length(out.argv), 3), "cut at %zu parsed with a short command", cut);
                        setup_spec_done(&out);
                } else
                        cr_assert(eq(int, r, -EBADMSG), "cut at %zu: %i", cut, r);
        }
        free(data);
}

Test(setup_spec, garbage_is_rejected) {
        SetupSpec in = sample();
        void *data;
        size_t size;

        serialize(&in, &data, &size);
        /* flip every byte after the header in turn: parsing must fail cleanly or succeed, never crash */
        for (size_t i = 0; i < size; i++) {
                SetupSpec out = {};
                char *copy = malloc(size);

                memcpy(copy, data, size);
                copy[i] ^= 0xff;
                if (setup_spec_parse(copy, size, &out) == 0)
                        setup_spec_done(&out);
        }
        /* a wrong magic */
        {
                SetupSpec out = {};
                char *copy = malloc(size);
                memcpy(copy, data, size);
                copy[0] ^= 1;
                cr_assert(eq(int, setup_spec_parse(copy, size, &out), -EBADMSG));
        }
        free(data);
}

Test(setup_spec, reads_back_from_a_memfd) {
        SetupSpec in = sample(), out = {};
        void *data;
        size_t size;
        int fd = memfd_create("spec", MFD_CLOEXEC);

        cr_assert(fd >= 0);
        serialize(&in, &data, &size);
        cr_assert(eq(sz, (size_t) write(fd, data, size), size));
        free(data);
        cr_assert(eq(int, setup_spec_read_fd(fd, &out), 0)); /* from offset 0, whatever the file position */
        cr_assert(eq(str, (char *) out.name, "brave-otter"));
        setup_spec_done(&out);
        close(fd);
}

Test(setup_spec, fds_travel_by_index_and_come_back) {
        SetupSpec in = sample(), out = {};
        int fds[SETUP_SPEC_FDS_MAX], received[SETUP_SPEC_FDS_MAX];
        void *data;
        size_t size, n;

        in.cgroup_procs[0] = 40;
        in.cgroup_procs[1] = in.cgroup_procs[2] = -1;
        n = setup_spec_fds_collect(&in, fds);
        /* 4, 5, 6, 7, 8, 9, 11, 10, 40 in field order; the -1s stay -1 */
        cr_assert(eq(sz, n, 9));
        cr_assert(eq(int, fds[0], 4));
        cr_assert(eq(int, fds[6], 11));
        cr_assert(eq(int, fds[8], 40));
        cr_assert(eq(int, in.status_dir_fd, 0));
        cr_assert(eq(int, in.journal_fd, -1));
        cr_assert(eq(int, in.stdio[0], -1));
        cr_assert(eq(int, in.console_fd, 6));
        cr_assert(eq(int, in.cgroup_procs[0], 8));
        cr_assert(eq(int, in.sync_fd, 3)); /* not one of them: it is the socket they travel on */

        serialize(&in, &data, &size);
        cr_assert(eq(int, setup_spec_parse(data, size, &out), 0));
        for (size_t i = 0; i < n; i++)
                received[i] = 100 + (int) i; /* as SCM_RIGHTS hands them out: other numbers */
        cr_assert(eq(int, setup_spec_fds_resolve(&out, received, n), 0));
        cr_assert(eq(int, out.status_dir_fd, 100));
        cr_assert(eq(int, out.out_pipe[0], 101));
        cr_assert(eq(int, out.out_pipe[1], 102));
        cr_assert(eq(int, out.err_pipe[0], 103));
        cr_assert(eq(int, out.err_pipe[1], 104));
        cr_assert(eq(int, out.stdio[1], 105));
        cr_assert(eq(int, out.console_fd, 106));
        cr_assert(eq(int, out.netns_fd, 107));
        cr_assert(eq(int, out.cgroup_procs[0], 108));
        cr_assert(eq(int, out.journal_fd, -1));
        cr_assert(eq(int, out.userns_fd, -1));
        cr_assert(eq(int, out.cgroup_procs[2], -1));
        setup_spec_done(&out);
}

Test(setup_spec, an_index_past_the_fds_received_is_rejected) {
        SetupSpec in = sample();
        int fds[SETUP_SPEC_FDS_MAX], received[2] = { 20, 21 };
        size_t n = setup_spec_fds_collect(&in, fds);

        cr_assert(gt(sz, n, 2));
        /* a message that lost fds on the way (the receiver's limit): refused, not a wrong fd used */
        cr_assert(eq(int, setup_spec_fds_resolve(&in, received, 2), -EBADMSG));
}
