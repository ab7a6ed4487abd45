/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vessel-probe: runs inside a container as root and tries, one by one, what a hostile process would
 * try to get out or to change the host. Each probe prints "NAME BLOCKED (errno text)" or
 * "NAME ALLOWED"; the test asserts the verdicts. Every probe is harmless where it unexpectedly
 * succeeds (a remount of nothing, the current time set again, the reboot key combination toggled).
 * Static, so it runs in any root filesystem.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/reboot.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

static void verdict(const char *name, int r) {
        if (r < 0)
                printf("%s BLOCKED (%s)\n", name, strerror(errno));
        else
                printf("%s ALLOWED\n", name);
}

static int write_file(const char *path, const char *value) {
        int fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return -1;
        ssize_t n = write(fd, value, strlen(value));
        int e = errno;
        close(fd);
        errno = e;
        return n < 0 ? -1 : 0;
}

static long read_size(const char *path) {
        char buf[4096];
        long total = 0;
        ssize_t n;
        int fd = open(path, O_RDONLY | O_CLOEXEC);

        if (fd < 0)
                return -1;
        while ((n = read(fd, buf, sizeof buf)) > 0 && total < 1 << 20)
                total += n;
        close(fd);
        return total;
}

static int count_entries(const char *path) {
        DIR *d = opendir(path);
        int n = 0;

        if (!d)
                return -1;
        for (struct dirent *de; (de = readdir(d));)
                if (de->d_name[0] != '.')
                        n++;
        closedir(d);
        return n;
}

int main(int argc, char *argv[]) {
        const char *host_pid = argc > 1 ? argv[1] : "1";
        struct timespec now;
        int fd;

        verdict("mount-tmpfs", mount("tmpfs", "/tmp", "tmpfs", 0, NULL));
        verdict("remount-root-rw", mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND, NULL));
        verdict("umount-proc", umount2("/proc/sys", MNT_DETACH));
        verdict("write-sysrq-trigger", write_file("/proc/sysrq-trigger", "h"));
        verdict("write-core-pattern", write_file("/proc/sys/kernel/core_pattern", "|/evil"));
        verdict("write-release-agent", write_file("/sys/fs/cgroup/memory/release_agent", "/evil"));
        verdict("write-notify-on-release", write_file("/sys/fs/cgroup/memory/notify_on_release", "1"));
        verdict("write-cgroup-root-procs", write_file("/sys/fs/cgroup/cgroup.procs", "1"));
        printf("read-kcore %ld\n", read_size("/proc/kcore"));
        printf("read-keys %ld\n", read_size("/proc/keys"));
        printf("read-timer-list %ld\n", read_size("/proc/timer_list"));
        printf("list-sys-firmware %d\n", count_entries("/sys/firmware"));

        (void) unlink("/probe-blk");
        if (mknod("/probe-blk", S_IFBLK | 0600, makedev(7, 0)) < 0)
                verdict("mknod-block", -1);
        else {
                fd = open("/probe-blk", O_RDONLY | O_CLOEXEC);
                verdict("open-block-device", fd);
                if (fd >= 0)
                        close(fd);
                (void) unlink("/probe-blk");
        }
        verdict("init-module", (int) syscall(SYS_init_module, NULL, 0, ""));
        verdict("finit-module", (int) syscall(SYS_finit_module, -1, "", 0));
        verdict("add-key", (int) syscall(SYS_add_key, "user", "probe", "x", 1, -2 /* KEY_SPEC_PROCESS_KEYRING */));
        verdict("keyctl", (int) syscall(SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -2, 0));
        verdict("bpf", (int) syscall(SYS_bpf, 0, NULL, 0));
        verdict("perf-event-open", (int) syscall(SYS_perf_event_open, NULL, 0, -1, -1, 0));
        verdict("open-by-handle-at", (int) syscall(SYS_open_by_handle_at, AT_FDCWD, NULL, 0));
        verdict("unshare-user", unshare(CLONE_NEWUSER));
        verdict("unshare-mount", unshare(CLONE_NEWNS));
        verdict("ptrace-pid1", (int) syscall(SYS_ptrace, 16 /* PTRACE_ATTACH */, 1, NULL, NULL));
        verdict("kill-host-pid", kill(atoi(host_pid), 0));
        verdict("sethostname", sethostname("escaped", 7));
        verdict("reboot-cad-off", (int) syscall(SYS_reboot, LINUX_REBOOT_MAGIC1, LINUX_REBOOT_MAGIC2,
                                                 LINUX_REBOOT_CMD_CAD_OFF, NULL));
        clock_gettime(CLOCK_REALTIME, &now);
        verdict("clock-settime", clock_settime(CLOCK_REALTIME, &now));
        verdict("swapoff", (int) syscall(SYS_swapoff, "/nonexistent"));
        verdict("acct", (int) syscall(SYS_acct, NULL));
        verdict("personality", (int) syscall(SYS_personality, 0x0008 /* READ_IMPLIES_EXEC... ADDR_NO_RANDOMIZE */ | 0x0040000));
        printf("processes %d\n", count_entries("/proc") - 0);
        printf("fds %d\n", count_entries("/proc/self/fd"));
        return 0;
}
