/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "setup-spec.h"
#include "string-util.h"

#define SPEC_MAGIC UINT32_C(0x54455356) /* "VSET" */
#define SPEC_VERSION 2

enum {
        SPEC_HOST_NETWORK = 1 << 0,
        SPEC_READ_ONLY = 1 << 1,
        SPEC_CGROUP_UNIFIED = 1 << 2,
        SPEC_HAS_ADDRESS = 1 << 3,
        SPEC_IPV6 = 1 << 4,
        SPEC_NEW_NETNS = 1 << 5,
};

typedef struct SpecHeader {
        uint32_t magic, version, header_size, flags;
        int32_t sync_fd, status_dir_fd, journal_fd, out_pipe[2], err_pipe[2], stdio[3], console_fd, netns_fd,
                userns_fd;
        int32_t cgroup_procs[SETUP_CGROUP_PROCS_MAX];
        uint16_t tty_rows, tty_columns;
        uint32_t uid_base;
        uint32_t prefixlen;
        struct in_addr address, gateway;
        struct in6_addr address6, gateway6;
        uint64_t capabilities;
} SpecHeader;

typedef enum SpecKey {
        KEY_RUNDIR = 1,
        KEY_ROOT,
        KEY_LOWER,
        KEY_UPPER,
        KEY_WORK,
        KEY_NAME,
        KEY_ID,
        KEY_IMAGE,
        KEY_HOSTNAME,
        KEY_USER,
        KEY_WORKING_DIRECTORY,
        KEY_ARG,
        KEY_ENV,
        KEY_BIND,    /* 'r' or 'w', source, NUL, destination, NUL */
        KEY_SECCOMP, /* the BPF program's bytes */
        KEY_END,     /* last: a spec cut short between records is not a shorter spec */
        _KEY_MAX,
} SpecKey;

#define ALIGN8(n) (((n) + 7) & ~(size_t) 7)

typedef struct Writer {
        char *data;
        size_t size, allocated;
        int error;
} Writer;

static void put(Writer *w, SpecKey key, const void *p, size_t size) {
        size_t need = ALIGN8(w->size) + 8 + size;
        uint32_t k = key, s = (uint32_t) size;

        if (w->error)
                return;
        if (size > SETUP_SPEC_MAX || need > SETUP_SPEC_MAX) {
                w->error = -E2BIG;
                return;
        }
        if (need > w->allocated) {
                size_t a = MAX(need, w->allocated * 2);
                char *d = realloc(w->data, a);
                if (!d) {
                        w->error = -ENOMEM;
                        return;
                }
                w->data = d;
                w->allocated = a;
        }
        memset(w->data + w->size, 0, ALIGN8(w->size) - w->size);
        w->size = ALIGN8(w->size);
        memcpy(w->data + w->size, &k, 4);
        memcpy(w->data + w->size + 4, &s, 4);
        if (size > 0)
                memcpy(w->data + w->size + 8, p, size);
        w->size += 8 + size;
}

static void put_string(Writer *w, SpecKey key, const char *s) {
        if (s)
                put(w, key, s, strlen(s) + 1);
}

int setup_spec_serialize(const SetupSpec *spec, void **ret, size_t *ret_size) {
        SpecHeader h = {
                .magic = SPEC_MAGIC,
                .version = SPEC_VERSION,
                .header_size = sizeof(SpecHeader),
                .flags = (spec->host_network ? SPEC_HOST_NETWORK : 0) | (spec->read_only ? SPEC_READ_ONLY : 0) |
                         (spec->cgroup_unified ? SPEC_CGROUP_UNIFIED : 0) | (spec->has_address ? SPEC_HAS_ADDRESS : 0) |
                         (spec->ipv6 ? SPEC_IPV6 : 0) | (spec->new_netns ? SPEC_NEW_NETNS : 0),
                .sync_fd = spec->sync_fd,
                .status_dir_fd = spec->status_dir_fd,
                .journal_fd = spec->journal_fd,
                .out_pipe = { spec->out_pipe[0], spec->out_pipe[1] },
                .err_pipe = { spec->err_pipe[0], spec->err_pipe[1] },
                .stdio = { spec->stdio[0], spec->stdio[1], spec->stdio[2] },
                .console_fd = spec->console_fd,
                .tty_rows = spec->tty_rows,
                .tty_columns = spec->tty_columns,
                .uid_base = spec->uid_base,
                .netns_fd = spec->netns_fd,
                .userns_fd = spec->userns_fd,
                .cgroup_procs = { spec->cgroup_procs[0], spec->cgroup_procs[1], spec->cgroup_procs[2] },
                .prefixlen = spec->prefixlen,
                .address = spec->address,
                .gateway = spec->gateway,
                .address6 = spec->address6,
                .gateway6 = spec->gateway6,
                .capabilities = spec->app.capabilities,
        };
        Writer w = {};

        w.allocated = 4096;
        w.data = malloc(w.allocated);
        if (!w.data)
                return -ENOMEM;
        memcpy(w.data, &h, sizeof h);
        w.size = sizeof h;

        put_string(&w, KEY_RUNDIR, spec->rundir);
        put_string(&w, KEY_ROOT, spec->root);
        put_string(&w, KEY_LOWER, spec->lower);
        put_string(&w, KEY_UPPER, spec->upper);
        put_string(&w, KEY_WORK, spec->work);
        put_string(&w, KEY_NAME, spec->name);
        put_string(&w, KEY_ID, spec->id);
        put_string(&w, KEY_IMAGE, spec->image);
        put_string(&w, KEY_HOSTNAME, spec->app.hostname);
        put_string(&w, KEY_USER, spec->app.user);
        put_string(&w, KEY_WORKING_DIRECTORY, spec->app.working_directory);
        STRV_FOREACH(a, spec->argv)
                put_string(&w, KEY_ARG, *a);
        STRV_FOREACH(e, spec->app.environment)
                put_string(&w, KEY_ENV, *e);
        for (size_t i = 0; i < spec->n_binds; i++) {
                const SetupBind *b = spec->binds + i;
                size_t ls = strlen(b->source) + 1, ld = strlen(b->destination) + 1;
                char *rec = malloc(1 + ls + ld);

                if (!rec) {
                        w.error = -ENOMEM;
                        break;
                }
                rec[0] = b->read_only ? 'r' : 'w';
                memcpy(rec + 1, b->source, ls);
                memcpy(rec + 1 + ls, b->destination, ld);
                put(&w, KEY_BIND, rec, 1 + ls + ld);
                free(rec);
        }
        if (spec->app.seccomp)
                put(&w, KEY_SECCOMP, spec->app.seccomp, spec->app.seccomp_size);
        put(&w, KEY_END, NULL, 0);

        if (w.error < 0) {
                free(w.data);
                return w.error;
        }
        *ret = w.data;
        *ret_size = w.size;
        return 0;
}

/* The record at *offset, checked to lie within the buffer; advances *offset. 0 at the end. */
static int next_record(const char *data, size_t size, size_t *offset, uint32_t *key, const char **value, uint32_t *len) {
        size_t o = ALIGN8(*offset);

        if (o >= size)
                return 0;
        if (size - o < 8)
                return -EBADMSG;
        memcpy(key, data + o, 4);
        memcpy(len, data + o + 4, 4);
        if (*len > size - o - 8)
                return -EBADMSG;
        *value = data + o + 8;
        *offset = o + 8 + *len;
        return 1;
}

static bool is_string(const char *v, uint32_t len) {
        return len > 0 && v[len - 1] == 0 && memchr(v, 0, len) == v + len - 1;
}

int setup_spec_parse(void *buffer, size_t size, SetupSpec *ret) {
        SetupSpec s = {
                .buffer = buffer,
        };
        const char *data = buffer;
        size_t n_args = 0, n_env = 0, n_binds = 0, offset;
        bool end = false;
        const char *v;
        uint32_t key, len;
        SpecHeader h;
        int r;

        if (size < sizeof h) {
                free(buffer);
                return -EBADMSG;
        }
        memcpy(&h, data, sizeof h);
        if (h.magic != SPEC_MAGIC || h.version != SPEC_VERSION || h.header_size != sizeof h) {
                free(buffer);
                return -EBADMSG;
        }

        /* count, and check every record */
        offset = sizeof h;
        while ((r = next_record(data, size, &offset, &key, &v, &len)) > 0) {
                if (key == 0 || key >= _KEY_MAX || end) {
                        r = -EBADMSG;
                        break;
                }
                if (key == KEY_END) {
                        end = true;
                        continue;
                }
                if (key == KEY_SECCOMP)
                        continue;
                if (key == KEY_BIND) {
                        /* flag, source NUL, destination NUL: two strings, neither empty */
                        const char *nul = len > 2 ? memchr(v + 1, 0, len - 1) : NULL;
                        if (!nul || (v[0] != 'r' && v[0] != 'w') || nul == v + 1 ||
                            !is_string(nul + 1, (uint32_t) (v + len - (nul + 1))) || nul + 2 == v + len) {
                                r = -EBADMSG;
                                break;
                        }
                } else if (!is_string(v, len)) {
                        r = -EBADMSG;
                        break;
                }
                n_args += key == KEY_ARG;
                n_env += key == KEY_ENV;
                n_binds += key == KEY_BIND;
        }
        if (r < 0 || !end || n_args == 0) {
                free(buffer);
                return -EBADMSG;
        }

        s.argv = calloc(n_args + 1, sizeof(char *));
        s.env_storage = calloc(n_env + 1, sizeof(char *));
        s.binds = calloc(n_binds ?: 1, sizeof(SetupBind));
        if (!s.argv || !s.env_storage || !s.binds) {
                setup_spec_done(&s);
                return -ENOMEM;
        }

        s.sync_fd = h.sync_fd;
        s.status_dir_fd = h.status_dir_fd;
        s.journal_fd = h.journal_fd;
        memcpy(s.out_pipe, h.out_pipe, sizeof s.out_pipe);
        memcpy(s.err_pipe, h.err_pipe, sizeof s.err_pipe);
        memcpy(s.stdio, h.stdio, sizeof s.stdio);
        s.console_fd = h.console_fd;
        s.tty_rows = h.tty_rows;
        s.tty_columns = h.tty_columns;
        s.uid_base = h.uid_base;
        s.netns_fd = h.netns_fd;
        s.userns_fd = h.userns_fd;
        memcpy(s.cgroup_procs, h.cgroup_procs, sizeof s.cgroup_procs);
        s.host_network = h.flags & SPEC_HOST_NETWORK;
        s.read_only = h.flags & SPEC_READ_ONLY;
        s.cgroup_unified = h.flags & SPEC_CGROUP_UNIFIED;
        s.has_address = h.flags & SPEC_HAS_ADDRESS;
        s.ipv6 = h.flags & SPEC_IPV6;
        s.new_netns = h.flags & SPEC_NEW_NETNS;
        s.prefixlen = (uint8_t) MIN(h.prefixlen, 128U);
        s.address = h.address;
        s.gateway = h.gateway;
        s.address6 = h.address6;
        s.gateway6 = h.gateway6;
        s.app.capabilities = h.capabilities;
        s.app.environment = s.env_storage;

        n_args = n_env = 0;
        offset = sizeof h;
        while (next_record(data, size, &offset, &key, &v, &len) > 0)
                switch (key) {
                case KEY_RUNDIR: s.rundir = v; break;
                case KEY_ROOT: s.root = v; break;
                case KEY_LOWER: s.lower = v; break;
                case KEY_UPPER: s.upper = v; break;
                case KEY_WORK: s.work = v; break;
                case KEY_NAME: s.name = v; break;
                case KEY_ID: s.id = v; break;
                case KEY_IMAGE: s.image = v; break;
                case KEY_HOSTNAME: s.app.hostname = v; break;
                case KEY_USER: s.app.user = v; break;
                case KEY_WORKING_DIRECTORY: s.app.working_directory = v; break;
                case KEY_ARG: s.argv[n_args++] = (char *) v; break;
                case KEY_ENV: s.env_storage[n_env++] = (char *) v; break;
                case KEY_BIND:
                        s.binds[s.n_binds++] = (SetupBind) {
                                .read_only = v[0] == 'r',
                                .source = v + 1,
                                .destination = v + 1 + strlen(v + 1) + 1,
                        };
                        break;
                case KEY_SECCOMP:
                        s.app.seccomp = len > 0 ? v : NULL;
                        s.app.seccomp_size = len;
                        break;
                }

        if (!s.rundir || !s.root || !s.lower || !s.upper || !s.work || !s.name || !s.id || !s.image || !s.app.hostname) {
                setup_spec_done(&s);
                return -EBADMSG;
        }
        *ret = s;
        return 0;
}

int setup_spec_read_fd(int fd, SetupSpec *ret) {
        struct stat st;
        char *buffer;
        size_t done = 0;

        if (fstat(fd, &st) < 0)
                return -errno;
        if (st.st_size <= 0 || (uint64_t) st.st_size > SETUP_SPEC_MAX)
                return -EBADMSG;
        buffer = malloc((size_t) st.st_size);
        if (!buffer)
                return -ENOMEM;
        while (done < (size_t) st.st_size) {
                ssize_t n = pread(fd, buffer + done, (size_t) st.st_size - done, (off_t) done);
                if (n <= 0) {
                        int e = n < 0 ? -errno : -EBADMSG;
                        free(buffer);
                        return e;
                }
                done += (size_t) n;
        }
        return setup_spec_parse(buffer, done, ret);
}

void setup_spec_done(SetupSpec *spec) {
        free(spec->argv);
        free(spec->env_storage);
        free(spec->binds);
        free(spec->buffer);
        spec->argv = spec->env_storage = NULL;
        spec->binds = NULL;
        spec->buffer = NULL;
}

static size_t spec_fd_fields(SetupSpec *spec, int *ret[static SETUP_SPEC_FDS_MAX]) {
        size_t n = 0;

        ret[n++] = &spec->status_dir_fd;
        ret[n++] = &spec->journal_fd;
        for (size_t i = 0; i < 2; i++)
                ret[n++] = &spec->out_pipe[i];
        for (size_t i = 0; i < 2; i++)
                ret[n++] = &spec->err_pipe[i];
        for (size_t i = 0; i < 3; i++)
                ret[n++] = &spec->stdio[i];
        ret[n++] = &spec->console_fd;
        ret[n++] = &spec->netns_fd;
        ret[n++] = &spec->userns_fd;
        for (size_t i = 0; i < SETUP_CGROUP_PROCS_MAX; i++)
                ret[n++] = &spec->cgroup_procs[i];
        assert(n == SETUP_SPEC_FDS_MAX);
        return n;
}

size_t setup_spec_fds_collect(SetupSpec *spec, int fds[static SETUP_SPEC_FDS_MAX]) {
        int *fields[SETUP_SPEC_FDS_MAX];
        size_t n_fields = spec_fd_fields(spec, fields), n = 0;

        for (size_t i = 0; i < n_fields; i++)
                if (*fields[i] >= 0) {
                        fds[n] = *fields[i];
                        *fields[i] = (int) n++;
                } else
                        *fields[i] = -1;
        return n;
}

int setup_spec_fds_resolve(SetupSpec *spec, const int *fds, size_t n_fds) {
        int *fields[SETUP_SPEC_FDS_MAX];
        size_t n_fields = spec_fd_fields(spec, fields);

        for (size_t i = 0; i < n_fields; i++) {
                if (*fields[i] < 0) {
                        *fields[i] = -1;
                        continue;
                }
                if ((size_t) *fields[i] >= n_fds)
                        return -EBADMSG;
                *fields[i] = fds[*fields[i]];
        }
        return 0;
}
