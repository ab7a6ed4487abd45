/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl-cgroup.h"
#include "fd-util.h"
#include "macro.h"
#include "output.h"
#include "string-util.h"

int cgroup_unit_path(const char *proc_cgroup, const char *unit, char **ret, bool *ret_v1) {
        _cleanup_free_ char *found = NULL;
        const char *line = proc_cgroup;
        size_t ulen = strlen(unit);
        bool v1 = false;

        while (line && *line) {
                const char *end = strchrnul(line, '\n'), *c1, *c2, *path, *at;
                bool named, unified;

                c1 = memchr(line, ':', (size_t) (end - line));
                c2 = c1 ? memchr(c1 + 1, ':', (size_t) (end - c1 - 1)) : NULL;
                if (c2) {
                        named = (size_t) (c2 - c1 - 1) == strlen("name=systemd") &&
                                strncmp(c1 + 1, "name=systemd", strlen("name=systemd")) == 0;
                        unified = c2 == c1 + 1 && c1 - line == 1 && line[0] == '0';
                        path = c2 + 1;
                        /* the unit as a whole path component */
                        for (at = path; (at = strstr(at, unit)) && at < end; at += ulen)
                                if (at[-1] == '/' && (at + ulen == end || at[ulen] == '/'))
                                        break;
                        if ((named || (unified && !v1)) && at && at < end) {
                                free(found);
                                found = strndup(path, (size_t) (at + ulen - path));
                                if (!found)
                                        return -ENOMEM;
                                v1 = named;
                        }
                }
                line = *end ? end + 1 : NULL;
        }
        if (!found)
                return -ENOENT;
        *ret = TAKE_PTR(found);
        if (ret_v1)
                *ret_v1 = v1;
        return 0;
}

char *process_describe(const char *cmdline, size_t size, const char *comm, size_t max) {
        char *s;
        size_t n;

        while (size > 0 && cmdline[size - 1] == 0)
                size--;
        if (size == 0)
                return strjoin("[", strempty(comm), "]");
        n = MIN(size, max);
        s = malloc(n + strlen("…") + 1);
        if (!s)
                return NULL;
        for (size_t i = 0; i < n; i++)
                s[i] = cmdline[i] == 0 || cmdline[i] == '\n' ? ' ' : cmdline[i];
        s[n] = 0;
        if (n < size)
                strcat(s, "…");
        return s;
}

static int cmp_pid(const void *a, const void *b) {
        pid_t x = *(const pid_t *) a, y = *(const pid_t *) b;
        return x < y ? -1 : x > y;
}

/* every pid in dir's cgroup.procs and below, appended to *pids */
static int collect_pids(int dir_fd, pid_t **pids, size_t *n, unsigned depth) {
        DIR *d;
        struct dirent *de;
        int fd;

        fd = openat(dir_fd, "cgroup.procs", O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
                _cleanup_fclose_ FILE *procs = fdopen(fd, "re");
                long v;

                if (!procs) {
                        safe_close(fd);
                        return -errno;
                }
                while (fscanf(procs, "%ld", &v) == 1) {
                        pid_t *m = reallocarray(*pids, *n + 1, sizeof(pid_t));
                        if (!m)
                                return -ENOMEM;
                        *pids = m;
                        (*pids)[(*n)++] = (pid_t) v;
                }
        }
        if (depth >= 16)
                return 0;
        d = opendir_dup(dir_fd);
        if (!d)
                return -errno;
        while ((de = readdir(d))) {
                int sub;

                if (de->d_type != DT_DIR || de->d_name[0] == '.')
                        continue;
                sub = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (sub < 0)
                        continue;
                (void) collect_pids(sub, pids, n, depth + 1);
                safe_close(sub);
        }
        closedir(d);
        return 0;
}

static char *describe_pid(pid_t pid) {
        _cleanup_free_ char *comm = NULL;
        _cleanup_close_ int fd = -EBADF;
        char p[64], cmdline[512];
        ssize_t size = 0;

        /* its start is enough: what is shown is cut anyway */
        snprintf(p, sizeof p, "/proc/%" PRIi32 "/cmdline", (int32_t) pid);
        fd = open(p, O_RDONLY | O_CLOEXEC);
        if (fd >= 0)
                size = read(fd, cmdline, sizeof cmdline);
        snprintf(p, sizeof p, "/proc/%" PRIi32 "/comm", (int32_t) pid);
        (void) read_one_line_file(p, &comm);
        return process_describe(cmdline, size > 0 ? (size_t) size : 0, comm, 100);
}

void cgroup_print_processes(FILE *f, pid_t leader, const char *unit, size_t max_lines) {
        _cleanup_free_ char *text = NULL, *path = NULL, *dir = NULL;
        _cleanup_free_ pid_t *pids = NULL;
        _cleanup_close_ int fd = -EBADF;
        size_t n = 0, size = 0;
        char p[64];
        bool v1;

        if (leader <= 0 || !unit)
                return;
        snprintf(p, sizeof p, "/proc/%" PRIi32 "/cgroup", (int32_t) leader);
        if (read_full_file_at(AT_FDCWD, p, 64 * 1024, &text, &size) < 0 ||
            cgroup_unit_path(text, unit, &path, &v1) < 0)
                return;
        if (v1)
                dir = strjoin("/sys/fs/cgroup/systemd", path);
        else if (access("/sys/fs/cgroup/unified/cgroup.controllers", F_OK) >= 0)
                dir = strjoin("/sys/fs/cgroup/unified", path);
        else
                dir = strjoin("/sys/fs/cgroup", path);
        if (!dir)
                return;
        fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0 || collect_pids(fd, &pids, &n, 0) < 0 || n == 0)
                return;
        qsort(pids, n, sizeof(pid_t), cmp_pid);

        fprintf(f, "%13s: %s\n", "CGroup", path);
        for (size_t i = 0; i < n && i < max_lines; i++) {
                _cleanup_free_ char *what = describe_pid(pids[i]);
                bool last = i + 1 == n || i + 1 == max_lines;

                fprintf(f, "%13s  %s─%" PRIi32 " %s\n", "", last && n <= max_lines ? "└" : "├",
                        (int32_t) pids[i], strna(what));
                if (last && n > max_lines)
                        fprintf(f, "%13s  └─… and %zu more\n", "", n - max_lines);
        }
}
