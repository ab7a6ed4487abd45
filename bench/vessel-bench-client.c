/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vessel-bench-client: drives io.vessel1 directly over sd-bus, for the benchmarks in bench/.
 *
 * Loop mode (default): opens the bus once, then COUNT times RunContainer(PREFIXi, IMAGE,
 * [Command, Network=none, AutoRemove]) + WaitContainer and prints each iteration's wall time
 * (CLOCK_MONOTONIC) in microseconds, one per line, or with --summary a one-line summary.
 *
 * --detach N: starts N containers (default command `sleep 1000`) with RunContainer only, keeping up
 * to --inflight (64) calls in flight, and prints key=value lines: mode, count, failed, seconds,
 * per_second (and progress=DONE SECONDS with --progress). --remove N: RemoveContainer(PREFIXi,
 * force) for i < N the same way.
 *
 * Standalone on purpose (only libsystemd), so bench/start-latency can build it with plain cc when
 * the meson build has no bench/ subdir yet.
 */

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#define VESSEL_SERVICE "io.vessel1"
#define VESSEL_PATH "/io/vessel1"
#define VESSEL_MANAGER "io.vessel1.Manager"
#define ERROR_INVALID_SETTING "io.vessel1.Error.InvalidSetting"

/* sd-bus: UINT64_MAX as usec = no method timeout (the default would be 25 s) */
#define NO_TIMEOUT UINT64_MAX

#define MAX_INFLIGHT 64
#define MAX_REPORTED_ERRORS 10

typedef enum Mode {
        MODE_LOOP,
        MODE_DETACH,
        MODE_REMOVE,
} Mode;

static const char *arg_image = "dir:/srv/vessel-fixtures/busybox";
static const char *arg_prefix = NULL;
static const char *arg_address = NULL;
static const char *arg_network = "none";
static unsigned arg_count = 1;
static unsigned arg_warmup = 0;
static unsigned arg_inflight = MAX_INFLIGHT;
static unsigned arg_progress = 0;
static bool arg_keep = false;
static bool arg_summary = false;
static bool arg_keep_going = false;
static Mode arg_mode = MODE_LOOP;
static char **arg_command = NULL;

static char *default_true[] = { (char *) "/bin/true", NULL };
static char *default_sleep[] = { (char *) "sleep", (char *) "1000", NULL };

typedef struct Bench Bench;

typedef struct BatchCall {
        Bench *bench;
        unsigned index;
} BatchCall;

struct Bench {
        sd_bus *bus;
        sd_event *event;
        char prefix[64];
        bool auto_remove; /* cleared if the daemon does not know AutoRemove: then RemoveContainer */
        int result;

        /* loop mode: one iteration at a time, Run and Wait pipelined */
        unsigned iteration;  /* counts warm-up iterations too */
        unsigned pending;    /* replies still due in this iteration */
        bool retry;          /* AutoRemove was refused: do this iteration again without it */
        int run_replied;     /* 0: not yet, 1: ok, -1: error; for messages only */
        bool iteration_failed;
        unsigned n_failed;
        sd_bus_slot *wait_slot; /* the pending WaitContainer of this iteration */
        uint64_t run_reply_usec;
        uint64_t started_usec;
        uint64_t *samples;
        unsigned n_samples;

        /* detach/remove mode: many calls in flight */
        unsigned next, done, inflight, failed, n_errors_reported;
        uint64_t batch_started_usec;
        BatchCall *calls;
};

static uint64_t now_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

static int fail(Bench *b, int r) {
        if (b->result == 0)
                b->result = r < 0 ? r : -EIO;
        return sd_event_exit(b->event, 1);
}

static void container_name(Bench *b, unsigned i, char *buf, size_t size) {
        snprintf(buf, size, "%s%u", b->prefix, i);
}

static int append_settings(Bench *b, sd_bus_message *m, bool auto_remove) {
        int r;

        r = sd_bus_message_open_container(m, 'a', "(sv)");
        if (r < 0)
                return r;

        r = sd_bus_message_open_container(m, 'r', "sv");
        if (r >= 0)
                r = sd_bus_message_append(m, "s", "Command");
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'v', "as");
        if (r >= 0)
                r = sd_bus_message_append_strv(m, arg_command);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r < 0)
                return r;

        if (arg_network && *arg_network) {
                r = sd_bus_message_append(m, "(sv)", "Network", "s", arg_network);
                if (r < 0)
                        return r;
        }
        if (auto_remove) {
                r = sd_bus_message_append(m, "(sv)", "AutoRemove", "b", 1);
                if (r < 0)
                        return r;
        }
        return sd_bus_message_close_container(m);
}

static int new_run_call(Bench *b, const char *name, bool auto_remove, sd_bus_message **ret) {
        sd_bus_message *m = NULL;
        int r;

        r = sd_bus_message_new_method_call(b->bus, &m, VESSEL_SERVICE, VESSEL_PATH, VESSEL_MANAGER,
                                           "RunContainer");
        if (r >= 0)
                r = sd_bus_message_append(m, "ss", name, arg_image);
        if (r >= 0)
                r = append_settings(b, m, auto_remove);
        if (r < 0) {
                sd_bus_message_unref(m);
                return r;
        }
        *ret = m;
        return 0;
}

static bool error_is_auto_remove_refused(const sd_bus_error *e) {
        /* The settings contract says an unknown setting is InvalidSetting naming it. */
        return e && sd_bus_error_has_name(e, ERROR_INVALID_SETTING) && e->message &&
               strstr(e->message, "AutoRemove");
}

/* ---------------------------------------------------------------- loop mode ---- */

static int loop_start_iteration(Bench *b);

static int loop_finish_iteration(Bench *b) {
        uint64_t t = now_usec() - b->started_usec;

        if (b->iteration >= arg_warmup) {
                if (arg_summary)
                        b->samples[b->n_samples++] = t;
                else {
                        printf("%" PRIu64 "\n", t);
                        fflush(stdout);
                }
        }
        b->iteration++;
        if (b->iteration >= arg_warmup + arg_count)
                return sd_event_exit(b->event, 0);
        return loop_start_iteration(b);
}

static int on_loop_remove_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        Bench *b = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(reply);

        if (e) {
                fprintf(stderr, "RemoveContainer failed: %s: %s\n", e->name, e->message ?: "");
                return fail(b, -sd_bus_message_get_errno(reply));
        }
        return loop_finish_iteration(b);
}

static int loop_step_done(Bench *b) {
        sd_bus_message *m = NULL;
        char name[96];
        int r;

        if (--b->pending > 0)
                return 0;

        if (b->retry) {
                b->retry = false;
                return loop_start_iteration(b);
        }
        if (b->iteration_failed) {
                b->n_failed++;
                if (!arg_keep_going)
                        return fail(b, -EIO);
                /* no sample for this one */
                b->iteration++;
                if (b->iteration >= arg_warmup + arg_count)
                        return sd_event_exit(b->event, 0);
                return loop_start_iteration(b);
        }
        if (b->auto_remove || arg_keep)
                return loop_finish_iteration(b);

        /* no AutoRemove in this daemon: remove it ourselves, inside the timed span (crun run and
         * `vesselctl run --rm` leave nothing behind either) */
        container_name(b, b->iteration, name, sizeof name);
        r = sd_bus_message_new_method_call(b->bus, &m, VESSEL_SERVICE, VESSEL_PATH, VESSEL_MANAGER,
                                           "RemoveContainer");
        if (r >= 0)
                r = sd_bus_message_append(m, "sb", name, 1);
        if (r >= 0)
                r = sd_bus_call_async(b->bus, NULL, m, on_loop_remove_reply, b, NO_TIMEOUT);
        sd_bus_message_unref(m);
        if (r < 0)
                return fail(b, r);
        return 0;
}

/* Synchronous and outside the timed span: the benchmark is off its normal path anyway. */
static void remove_leftover(Bench *b, const char *name) {
        sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        r = sd_bus_call_method(b->bus, VESSEL_SERVICE, VESSEL_PATH, VESSEL_MANAGER, "RemoveContainer", &error, NULL,
                               "sb", name, 1);
        if (r < 0 && !sd_bus_error_has_name(&error, "io.vessel1.Error.NoSuchContainer"))
                fprintf(stderr, "could not remove the leftover container %s: %s\n", name,
                        error.message ?: strerror(-r));
        else if (r >= 0)
                fprintf(stderr, "removed the leftover container %s\n", name);
        sd_bus_error_free(&error);
}

static int on_loop_run_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        Bench *b = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(reply);

        b->run_replied = e ? -1 : 1;
        b->run_reply_usec = now_usec();
        if (e) {
                if (b->auto_remove && error_is_auto_remove_refused(e)) {
                        fprintf(stderr, "note: daemon refused AutoRemove (%s); removing with RemoveContainer instead\n",
                                e->message);
                        b->auto_remove = false;
                        b->retry = true; /* the pipelined Wait fails with NoSuchContainer; ignore it */
                        return loop_step_done(b);
                }
                fprintf(stderr, "iteration %u: RunContainer failed after %.3f ms: %s: %s\n", b->iteration,
                        (b->run_reply_usec - b->started_usec) / 1e3, e->name, e->message ?: "");
                b->iteration_failed = true;
                if (b->wait_slot) {
                        /* A container whose start failed may stay behind in "created", and a Wait on that
                         * never returns: drop our Wait, and remove the container (best effort) unless
                         * the name belonged to someone else already. */
                        char name[96];

                        b->wait_slot = sd_bus_slot_unref(b->wait_slot);
                        b->pending--;
                        container_name(b, b->iteration, name, sizeof name);
                        if (!sd_bus_error_has_name(e, "io.vessel1.Error.ContainerExists"))
                                remove_leftover(b, name);
                }
        } else if (b->iteration_failed)
                fprintf(stderr, "iteration %u: ... and RunContainer succeeded after %.3f ms\n", b->iteration,
                        (b->run_reply_usec - b->started_usec) / 1e3);
        return loop_step_done(b);
}

static int on_loop_wait_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        Bench *b = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        int32_t status, sig;
        int r;

        b->wait_slot = sd_bus_slot_unref(b->wait_slot);

        if (e) {
                if (b->retry)
                        return loop_step_done(b);
                if (b->run_replied == 0)
                        fprintf(stderr, "iteration %u: WaitContainer failed after %.3f ms, before RunContainer's reply: %s: %s\n",
                                b->iteration, (now_usec() - b->started_usec) / 1e3, e->name, e->message ?: "");
                else if (b->run_replied > 0)
                        fprintf(stderr, "iteration %u: WaitContainer failed after %.3f ms; RunContainer had succeeded after %.3f ms: %s: %s\n",
                                b->iteration, (now_usec() - b->started_usec) / 1e3,
                                (b->run_reply_usec - b->started_usec) / 1e3, e->name, e->message ?: "");
                b->iteration_failed = true;
                return loop_step_done(b);
        }
        r = sd_bus_message_read(reply, "ii", &status, &sig);
        if (r < 0)
                return fail(b, r);
        if (status != 0 || sig != 0)
                fprintf(stderr, "warning: iteration %u: container exited with status %" PRIi32 ", signal %" PRIi32 "\n",
                        b->iteration, status, sig);
        return loop_step_done(b);
}

static int loop_start_iteration(Bench *b) {
        sd_bus_message *m = NULL;
        char name[96];
        int r;

        container_name(b, b->iteration, name, sizeof name);
        b->run_replied = 0;
        b->iteration_failed = false;
        b->started_usec = now_usec();

        r = new_run_call(b, name, b->auto_remove, &m);
        if (r < 0)
                return fail(b, r);
        r = sd_bus_call_async(b->bus, NULL, m, on_loop_run_reply, b, NO_TIMEOUT);
        sd_bus_message_unref(m);
        if (r < 0)
                return fail(b, r);

        /* WaitContainer right behind RunContainer, not after its reply: the daemon reads our messages
         * in order, so the container exists when Wait is handled, and with AutoRemove a /bin/true that
         * exits (and is removed) before a later Wait could arrive cannot lose its status. It also saves
         * one round trip, as `vesselctl run` does. */
        r = sd_bus_message_new_method_call(b->bus, &m, VESSEL_SERVICE, VESSEL_PATH, VESSEL_MANAGER,
                                           "WaitContainer");
        if (r >= 0)
                r = sd_bus_message_append(m, "s", name);
        if (r >= 0)
                r = sd_bus_call_async(b->bus, &b->wait_slot, m, on_loop_wait_reply, b, NO_TIMEOUT);
        sd_bus_message_unref(m);
        if (r < 0)
                return fail(b, r);
        b->pending = 2;
        return 0;
}

/* ------------------------------------------------------- detach/remove mode ---- */

static int batch_fill(Bench *b);

static void batch_report_error(Bench *b, const char *what, unsigned i, const sd_bus_error *e) {
        b->failed++;
        if (b->n_errors_reported++ < MAX_REPORTED_ERRORS)
                fprintf(stderr, "%s %s%u failed: %s: %s\n", what, b->prefix, i, e->name, e->message ?: "");
        else if (b->n_errors_reported == MAX_REPORTED_ERRORS + 1)
                fprintf(stderr, "(further errors not shown)\n");
}

static int on_batch_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        BatchCall *call = userdata;
        Bench *b = call->bench;
        const sd_bus_error *e = sd_bus_message_get_error(reply);

        if (e)
                batch_report_error(b, arg_mode == MODE_DETACH ? "RunContainer" : "RemoveContainer", call->index, e);
        b->inflight--;
        b->done++;
        if (arg_progress > 0 && (b->done % arg_progress == 0 || b->done == arg_count))
                printf("progress=%u %.6f\n", b->done, (now_usec() - b->batch_started_usec) / 1e6);
        if (b->done >= arg_count)
                return sd_event_exit(b->event, 0);
        return batch_fill(b);
}

static int batch_send_one(Bench *b, unsigned i) {
        sd_bus_message *m = NULL;
        char name[96];
        int r;

        container_name(b, i, name, sizeof name);
        if (arg_mode == MODE_DETACH)
                r = new_run_call(b, name, /* auto_remove= */ false, &m);
        else {
                r = sd_bus_message_new_method_call(b->bus, &m, VESSEL_SERVICE, VESSEL_PATH, VESSEL_MANAGER,
                                                   "RemoveContainer");
                if (r >= 0)
                        r = sd_bus_message_append(m, "sb", name, 1);
        }
        if (r < 0)
                return r;
        b->calls[i] = (BatchCall) { .bench = b, .index = i };
        r = sd_bus_call_async(b->bus, NULL, m, on_batch_reply, &b->calls[i], NO_TIMEOUT);
        sd_bus_message_unref(m);
        return r;
}

static int batch_fill(Bench *b) {
        int r;

        while (b->inflight < arg_inflight && b->next < arg_count) {
                r = batch_send_one(b, b->next);
                if (r < 0)
                        return fail(b, r);
                b->next++;
                b->inflight++;
        }
        return 0;
}

/* ---------------------------------------------------------------------- main ---- */

static int cmp_u64(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
        return x < y ? -1 : x > y;
}

static void print_summary(const Bench *b) {
        uint64_t *s = b->samples;
        unsigned n = b->n_samples;
        double median, sum = 0;
        unsigned p95;

        if (n == 0)
                return;
        qsort(s, n, sizeof *s, cmp_u64);
        median = n % 2 ? (double) s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2.0;
        p95 = (unsigned) ((95 * (uint64_t) n + 99) / 100); /* nearest rank, 1-based */
        for (unsigned i = 0; i < n; i++)
                sum += (double) s[i];
        printf("runs=%u median_ms=%.3f p95_ms=%.3f min_ms=%.3f max_ms=%.3f mean_ms=%.3f\n", n, median / 1000.0,
               s[p95 - 1] / 1000.0, s[0] / 1000.0, s[n - 1] / 1000.0, sum / n / 1000.0);
}

static void help(void) {
        printf("Usage: vessel-bench-client [OPTIONS] [--] [COMMAND [ARG...]]\n\n"
               "Times io.vessel1 RunContainer+WaitContainer over one open system bus connection.\n\n"
               "  --image IMAGE      image to run (default %s)\n"
               "  --count N          iterations, or containers for --detach/--remove (default 1)\n"
               "  --warmup N         untimed iterations first (loop mode; default 0)\n"
               "  --prefix P         container names are P0, P1, ... (default vb<pid>-)\n"
               "  --keep             no AutoRemove, no removal: containers stay (exited)\n"
               "  --keep-going       loop mode: a failed iteration is reported and skipped (exit 3 at the end)\n"
               "  --summary          print runs/median/p95/min/max/mean in ms instead of every sample\n"
               "  --network MODE     Network setting (default none; \"\" = don't send it)\n"
               "  --detach N         start N containers (default command: sleep 1000), pipelined\n"
               "  --remove N         RemoveContainer(force) PREFIX0..PREFIX<N-1>, pipelined\n"
               "  --inflight N       calls in flight for --detach/--remove (default %u)\n"
               "  --progress N       with --detach/--remove: print \"progress=DONE SECONDS\" every N replies\n"
               "  --address ADDR     bus address instead of the system bus (e.g. the private socket\n"
               "                     unix:path=/run/vessel/io.vessel1)\n"
               "Loop mode prints one wall time per line in microseconds (CLOCK_MONOTONIC, from sending\n"
               "RunContainer to WaitContainer's reply, plus RemoveContainer if AutoRemove is refused).\n"
               "--detach/--remove print key=value lines: mode, count, failed, seconds, per_second.\n",
               arg_image, MAX_INFLIGHT);
}

static int parse_unsigned(const char *s, unsigned *ret) {
        char *end;
        unsigned long v;

        errno = 0;
        v = strtoul(s, &end, 10);
        if (errno || end == s || *end || v > UINT32_MAX || *s == '-')
                return -EINVAL;
        *ret = (unsigned) v;
        return 0;
}

static int parse_argv(int argc, char *argv[]) {
        enum { ARG_IMAGE = 0x100, ARG_COUNT, ARG_WARMUP, ARG_PREFIX, ARG_KEEP, ARG_KEEP_GOING, ARG_SUMMARY, ARG_NETWORK,
               ARG_DETACH, ARG_REMOVE, ARG_INFLIGHT, ARG_PROGRESS, ARG_ADDRESS };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "image", required_argument, NULL, ARG_IMAGE },
                { "count", required_argument, NULL, ARG_COUNT },
                { "warmup", required_argument, NULL, ARG_WARMUP },
                { "prefix", required_argument, NULL, ARG_PREFIX },
                { "keep", no_argument, NULL, ARG_KEEP },
                { "keep-going", no_argument, NULL, ARG_KEEP_GOING },
                { "summary", no_argument, NULL, ARG_SUMMARY },
                { "network", required_argument, NULL, ARG_NETWORK },
                { "detach", required_argument, NULL, ARG_DETACH },
                { "remove", required_argument, NULL, ARG_REMOVE },
                { "inflight", required_argument, NULL, ARG_INFLIGHT },
                { "progress", required_argument, NULL, ARG_PROGRESS },
                { "address", required_argument, NULL, ARG_ADDRESS },
                {}
        };
        unsigned *target;
        int c;

        /* '+': options end at the first positional, which starts the command */
        while ((c = getopt_long(argc, argv, "+h", options, NULL)) >= 0) {
                target = NULL;
                switch (c) {
                case 'h':
                        help();
                        exit(EXIT_SUCCESS);
                case ARG_IMAGE:
                        arg_image = optarg;
                        break;
                case ARG_COUNT:
                        target = &arg_count;
                        break;
                case ARG_WARMUP:
                        target = &arg_warmup;
                        break;
                case ARG_PREFIX:
                        arg_prefix = optarg;
                        break;
                case ARG_KEEP:
                        arg_keep = true;
                        break;
                case ARG_KEEP_GOING:
                        arg_keep_going = true;
                        break;
                case ARG_SUMMARY:
                        arg_summary = true;
                        break;
                case ARG_NETWORK:
                        arg_network = optarg;
                        break;
                case ARG_DETACH:
                        arg_mode = MODE_DETACH;
                        target = &arg_count;
                        break;
                case ARG_REMOVE:
                        arg_mode = MODE_REMOVE;
                        target = &arg_count;
                        break;
                case ARG_INFLIGHT:
                        target = &arg_inflight;
                        break;
                case ARG_PROGRESS:
                        target = &arg_progress;
                        break;
                case ARG_ADDRESS:
                        arg_address = optarg;
                        break;
                default:
                        return -EINVAL;
                }
                if (target && parse_unsigned(optarg, target) < 0) {
                        fprintf(stderr, "Invalid number: %s\n", optarg);
                        return -EINVAL;
                }
        }
        if (arg_inflight == 0 || arg_count == 0) {
                fprintf(stderr, "--count, --detach, --remove and --inflight need a number above 0\n");
                return -EINVAL;
        }
        if (arg_prefix && strlen(arg_prefix) > 40) {
                fprintf(stderr, "--prefix is too long\n");
                return -EINVAL;
        }
        if (optind < argc)
                arg_command = argv + optind;
        else
                arg_command = arg_mode == MODE_DETACH ? default_sleep : default_true;
        return 0;
}

static int open_bus(sd_bus **ret) {
        sd_bus *bus = NULL;
        int r;

        if (!arg_address)
                return sd_bus_open_system(ret);

        r = sd_bus_new(&bus);
        if (r >= 0)
                r = sd_bus_set_address(bus, arg_address);
        if (r >= 0)
                r = sd_bus_set_bus_client(bus, 1);
        if (r >= 0)
                r = sd_bus_start(bus);
        if (r < 0) {
                sd_bus_unref(bus);
                return r;
        }
        *ret = bus;
        return 0;
}

int main(int argc, char *argv[]) {
        Bench b = {};
        uint64_t elapsed;
        int r;

        r = parse_argv(argc, argv);
        if (r < 0)
                return 2;
        b.auto_remove = !arg_keep;

        if (arg_prefix)
                snprintf(b.prefix, sizeof b.prefix, "%s", arg_prefix);
        else
                snprintf(b.prefix, sizeof b.prefix, "vb%d-", (int) getpid());

        if (arg_summary) {
                b.samples = calloc(arg_count, sizeof *b.samples);
                if (!b.samples)
                        return 1;
        }

        if (arg_mode != MODE_LOOP) {
                b.calls = calloc(arg_count, sizeof *b.calls);
                if (!b.calls)
                        return 1;
        }

        r = open_bus(&b.bus);
        if (r < 0) {
                fprintf(stderr, "Failed to connect to the bus: %s\n", strerror(-r));
                return 1;
        }
        r = sd_event_default(&b.event);
        if (r >= 0)
                r = sd_bus_attach_event(b.bus, b.event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0) {
                fprintf(stderr, "Failed to set up the event loop: %s\n", strerror(-r));
                return 1;
        }

        b.batch_started_usec = now_usec();
        if (arg_mode == MODE_LOOP)
                r = loop_start_iteration(&b);
        else
                r = batch_fill(&b);
        if (r >= 0 && b.result == 0)
                r = sd_event_loop(b.event);
        elapsed = now_usec() - b.batch_started_usec;
        if (r < 0 && b.result == 0)
                b.result = r;
        if (b.result < 0) {
                fprintf(stderr, "Benchmark failed: %s\n", strerror(-b.result));
                sd_bus_flush_close_unref(b.bus); /* sends a clean-up RemoveContainer still queued */
                return 1;
        }

        if (arg_mode == MODE_LOOP) {
                if (arg_summary)
                        print_summary(&b);
                if (b.n_failed > 0) {
                        fprintf(stderr, "%u of %u iterations failed\n", b.n_failed, arg_warmup + arg_count);
                        b.failed = b.n_failed;
                }
        } else {
                double s = elapsed / 1e6;
                printf("mode=%s\ncount=%u\nfailed=%u\nseconds=%.6f\nper_second=%.1f\n",
                       arg_mode == MODE_DETACH ? "detach" : "remove", arg_count, b.failed, s,
                       s > 0 ? (arg_count - b.failed) / s : 0.0);
        }

        sd_bus_flush_close_unref(b.bus);
        sd_event_unref(b.event);
        free(b.samples);
        free(b.calls);
        if (b.failed > 0)
                return 3;
        return 0;
}
