/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus-util.h"
#include "ctl-options.h"
#include "log.h"
#include "parse-util.h"
#include "string-util.h"
#include "verb-images.h"
#include "verb-ops.h"
#include "vesselctl.h"

bool arg_json = false;
bool arg_all = false;
bool arg_force = false;
bool arg_value = false;
int arg_signal = SIGKILL;
const char *arg_kill_whom = "leader";
bool arg_stop_timeout_set = false;
uint64_t arg_stop_timeout_usec = 0;
char **arg_properties = NULL;
ContainerOptions arg_container;

static bool arg_help = false;

/* ---- per-verb options ------------------------------------------------------------------------- */

static const struct option list_options[] = {
        { "all", no_argument, NULL, 'a' },
        {},
};

static int parse_list_option(int c, const char *arg) {
        if (c == 'a')
                arg_all = true;
        return 0;
}

static void help_list(void) {
        printf("  -a --all                        Show all containers, not only running and paused ones\n"
               "     --json                       Print a JSON array\n");
}

static const struct option stop_options[] = {
        { "time", required_argument, NULL, 't' },
        {},
};

static int parse_stop_option(int c, const char *arg) {
        uint64_t t;
        int r;

        if (c != 't')
                return 0;
        if (streq(arg, "-1"))
                t = UINT64_MAX;
        else {
                r = parse_sec(arg, &t);
                if (r < 0)
                        return log_error_errno(
                                r,
                                "Invalid value '%s' for --time (expected seconds or a span like 2min).",
                                arg);
        }
        arg_stop_timeout_usec = t;
        arg_stop_timeout_set = true;
        return 0;
}

static void help_stop(void) {
        printf("  -t --time=SECS                  Seconds to wait before SIGKILL; also stored as the\n"
               "                                  container's stop timeout\n");
}

static const struct option kill_options[] = {
        { "signal", required_argument, NULL, 's' },
        { "kill-whom", required_argument, NULL, ARG_KILL_WHOM },
        {},
};

static int parse_kill_option(int c, const char *arg) {
        int s;

        switch (c) {
        case 's':
                s = parse_signal(arg);
                if (s < 0)
                        return log_error_errno(
                                s,
                                "Invalid value '%s' for --signal (expected a signal name or number).",
                                arg);
                arg_signal = s;
                return 0;
        case ARG_KILL_WHOM:
                if (!streq(arg, "leader") && !streq(arg, "all"))
                        return log_error_errno(
                                -EINVAL,
                                "Invalid value '%s' for --kill-whom (expected leader or all).",
                                arg);
                arg_kill_whom = streq(arg, "leader") ? "leader" : "all";
                return 0;
        }
        return 0;
}

static void help_kill(void) {
        printf("  -s --signal=SIGNAL              Signal to send (default: SIGKILL)\n"
               "     --kill-whom=leader|all       The container's PID 1 (default), or all its processes\n");
}

static const struct option rm_options[] = {
        { "force", no_argument, NULL, 'f' },
        {},
};

static int parse_rm_option(int c, const char *arg) {
        if (c == 'f')
                arg_force = true;
        return 0;
}

static void help_rm(void) {
        printf("  -f --force                      Stop a running container first\n");
}

static const struct option show_options[] = {
        { "property", required_argument, NULL, 'p' },
        { "value", no_argument, NULL, ARG_VALUE },
        {},
};

static int parse_show_option(int c, const char *arg) {
        _cleanup_free_ char *copy = NULL;
        char *saveptr = NULL;

        switch (c) {
        case 'p':
                copy = strdup(arg);
                if (!copy)
                        return log_oom();
                for (char *w = strtok_r(copy, ",", &saveptr); w; w = strtok_r(NULL, ",", &saveptr))
                        if (strv_extend(&arg_properties, w) < 0)
                                return log_oom();
                if (!arg_properties)
                        return log_error_errno(
                                -EINVAL,
                                "Invalid value '%s' for --property (expected NAME[,NAME...]).",
                                arg);
                return 0;
        case ARG_VALUE:
                arg_value = true;
                return 0;
        }
        return 0;
}

static void help_show(void) {
        printf("  -p --property=NAME[,NAME...]    Show only these properties\n"
               "     --value                      Print only the values\n"
               "     --json                       Print a JSON object\n");
}

static int verb_help(int argc, char *argv[]);

/* The order here is the order of --help. exec, logs, stats, pause/unpause, images and import slot
 * in as further rows (exec with VERB_OPTIONS_FIRST like run). */
static const Verb verbs[] = {
        { "list", 0, 0, 0, "[OPTIONS]", "List containers",
          list_options, "a", 0, parse_list_option, help_list, verb_list },
        { "ps", 0, 0, 0, "[OPTIONS]", "Same as list",
          list_options, "a", 0, parse_list_option, help_list, verb_list },
        { "create", 1, VERB_ANY, VERB_OPTIONS_FIRST, "[OPTIONS] IMAGE [COMMAND [ARG...]]",
          "Create a container, print its name", NULL, NULL, OPTION_CREATE, NULL, NULL, verb_create },
        { "run", 1, VERB_ANY, VERB_OPTIONS_FIRST, "[OPTIONS] IMAGE [COMMAND [ARG...]]",
          "Create and start a container, and wait for it", NULL, NULL, OPTION_RUN, NULL, NULL, verb_run },
        { "start", 1, VERB_ANY, 0, "NAME...", "Start created or exited containers",
          NULL, NULL, 0, NULL, NULL, verb_start },
        { "stop", 1, VERB_ANY, 0, "[OPTIONS] NAME...", "Stop containers: stop signal, then SIGKILL",
          stop_options, "t:", 0, parse_stop_option, help_stop, verb_stop },
        { "restart", 1, VERB_ANY, 0, "[OPTIONS] NAME...", "Stop containers, then start them again",
          stop_options, "t:", 0, parse_stop_option, help_stop, verb_restart },
        { "kill", 1, VERB_ANY, 0, "[OPTIONS] NAME...", "Send a signal to containers",
          kill_options, "s:", 0, parse_kill_option, help_kill, verb_kill },
        { "rm", 1, VERB_ANY, 0, "[OPTIONS] NAME...", "Remove containers",
          rm_options, "f", 0, parse_rm_option, help_rm, verb_remove },
        { "wait", 1, VERB_ANY, 0, "NAME...", "Wait for containers to exit, print their exit codes",
          NULL, NULL, 0, NULL, NULL, verb_wait },
        { "status", 1, VERB_ANY, 0, "NAME...", "Show a container's state and resource use",
          NULL, NULL, 0, NULL, NULL, verb_status },
        { "show", 1, 1, 0, "[OPTIONS] NAME", "Show a container's properties as Key=Value",
          show_options, "p:", 0, parse_show_option, help_show, verb_show },
        { "update", 1, 1, 0, "[OPTIONS] NAME", "Change a container's resource limits",
          NULL, NULL, OPTION_UPDATE, NULL, NULL, verb_update },
        OPS_VERBS,
        IMAGE_VERBS,
        { "help", 0, VERB_ANY, 0, "", "Show this help", NULL, NULL, 0, NULL, NULL, verb_help },
};

static const Verb *verb_find(const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                if (streq(verbs[i].name, name))
                        return verbs + i;
        return NULL;
}

/* ---- help ------------------------------------------------------------------------------------- */

static void help(void) {
        printf("%s [OPTIONS] COMMAND ...\n\n"
               "Manage containers run by vesseld.\n\n"
               "Commands:\n",
               program_invocation_short_name);
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++) {
                char spec[64];

                snprintf(spec, sizeof spec, "%s %s", verbs[i].name, verbs[i].synopsis);
                if (strlen(spec) > 32)
                        printf("  %s\n  %-32s  %s\n", spec, "", verbs[i].summary);
                else
                        printf("  %-32s  %s\n", spec, verbs[i].summary);
        }
        printf("\nOptions:\n"
               "  -h --help                         Show this help, or a command's with COMMAND --help\n"
               "     --version                      Show the package version\n"
               "     --json                         Print data as JSON (list, show)\n"
               "     --no-pager                     Accepted for compatibility; output is never paged\n"
               "\nSizes take K, M, G, T suffixes (base 1024); times take seconds or systemd's forms\n"
               "(500ms, 30s, 2min, 1h). $VESSEL_ADDRESS selects another D-Bus address.\n");
}

static void help_verb(const Verb *v) {
        printf("%s %s %s\n\n%s.\n", program_invocation_short_name, v->name, v->synopsis, v->summary);
        if (v->flags & VERB_OPTIONS_FIRST)
                printf("Options end at %s: what follows is the command and its arguments.\n",
                       startswith(v->synopsis, "[OPTIONS] NAME") ? "NAME" : "IMAGE");
        printf("\nOptions:\n");
        if (v->container_scope)
                container_options_help(v->container_scope);
        if (v->help_options)
                v->help_options();
        printf("  -h --help                       Show this help\n");
}

static int verb_help(int argc, char *argv[]) {
        const Verb *v;

        if (argc > 0) {
                v = verb_find(argv[0]);
                if (!v) {
                        log_error("Unknown command '%s'.", argv[0]);
                        return EXIT_USAGE;
                }
                help_verb(v);
        } else
                help();
        return 0;
}

/* ---- parsing ---------------------------------------------------------------------------------- */

static const struct option common_options[] = {
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, ARG_VERSION },
        { "json", no_argument, NULL, ARG_JSON },
        { "no-pager", no_argument, NULL, ARG_NO_PAGER },
};

/* v = the verb whose options were parsed, NULL for the options before it; options = their table */
static int log_getopt_error(int c, char *argv[], const Verb *v, const struct option *options) {
        const ContainerOptionDef *d;
        const char *typed = argv[optind - 1], *owners;
        char short_form[3] = { '-', (char) optopt, 0 };
        size_t n;

        /* opterr is off: our messages name the option as the user typed it */
        if (c == ':') {
                if (optopt > 0 && optopt < 128 && typed[0] == '-' && typed[1] != '-')
                        return log_error_errno(-EINVAL, "Option '-%c' needs an argument.", optopt);
                return log_error_errno(-EINVAL, "Option '%s' needs an argument.", typed);
        }
        if (optopt > 0 && optopt < 128)
                typed = short_form;

        /* a prefix of several long options: getopt_long() takes a unique one, and says only '?' here */
        n = startswith(typed, "--") ? strcspn(typed + 2, "=") : 0;
        if (n > 0) {
                _cleanup_free_ char *which = NULL;
                size_t size = 0;
                unsigned k = 0;
                FILE *f = open_memstream(&which, &size);

                if (!f)
                        return log_oom();
                for (const struct option *o = options; o && o->name; o++)
                        if (strncmp(o->name, typed + 2, n) == 0 && strlen(o->name) > n)
                                fprintf(f, "%s--%s", k++ > 0 ? ", " : "", o->name);
                if (fclose(f) != 0)
                        return log_oom();
                if (k > 1)
                        return log_error_errno(-EINVAL, "Option '%.*s' is ambiguous: %s.", (int) n + 2, typed,
                                               which);
        }

        /* one of create/run/update's options given to another verb: say whose it is */
        d = container_option_find_typed(typed, optopt);
        owners = d ? option_scope_verbs(d->scope) : NULL;
        if (v && owners)
                return log_error_errno(-EINVAL, "Unknown option '%s' for %s: it is an option of %s.", typed,
                                       v->name, owners);
        if (owners)
                return log_error_errno(-EINVAL, "Unknown option '%s' before the verb: it is an option of %s.",
                                       typed, owners);
        return log_error_errno(-EINVAL, "Unknown option '%s'.", typed);
}

static int apply_container_option(const ContainerOptionDef *d, const char *arg) {
        int r;

        r = d->parse(&arg_container, arg);
        if (r == -ENOMEM)
                return log_oom();
        if (r < 0) {
                if (d->expect)
                        return log_error_errno(
                                r,
                                "Invalid value '%s' for --%s (expected %s).",
                                arg,
                                d->long_name,
                                d->expect);
                return log_error_errno(r, "Invalid value '%s' for --%s.", arg, d->long_name);
        }
        return 0;
}

/* Parses the verb's options. Returns < 0 on a usage error (logged), 0 to go on, 1 when --help was
 * answered. *ret_optind is the index of the first positional argument. */
static int parse_verb_argv(const Verb *v, int argc, char *argv[], int *ret_optind) {
        _cleanup_free_ struct option *container_opts = NULL, *options = NULL;
        _cleanup_free_ char *container_optstring = NULL, *optstring = NULL;
        size_t n = 0;
        int c, r;

        if (v->container_scope) {
                r = container_options_getopt(v->container_scope, &container_opts, &container_optstring);
                if (r < 0)
                        return log_oom();
        }

        /* common + the verb's + create/run/update options, one getopt table */
        options =
                calloc(ELEMENTSOF(common_options) + 64 + container_option_defs_count, sizeof(struct option));
        if (!options)
                return log_oom();
        for (size_t i = 0; i < ELEMENTSOF(common_options); i++)
                options[n++] = common_options[i];
        for (const struct option *o = v->options; o && o->name; o++)
                options[n++] = *o;
        for (const struct option *o = container_opts; o && o->name; o++)
                options[n++] = *o;

        optstring = strjoin(v->flags & VERB_OPTIONS_FIRST ? "+:h" : ":h", strempty(v->optstring),
                            strempty(container_optstring));
        if (!optstring)
                return log_oom();

        optind = 0; /* re-initialize getopt, including the '+' */
        opterr = 0;
        while ((c = getopt_long(argc, argv, optstring, options, NULL)) >= 0) {
                const ContainerOptionDef *d;

                switch (c) {
                case 'h':
                        arg_help = true;
                        break;
                case ARG_VERSION:
                        printf("vesselctl %s\n", PACKAGE_VERSION);
                        return 1;
                case ARG_JSON:
                        arg_json = true;
                        break;
                case ARG_NO_PAGER:
                        break;
                case ':':
                case '?':
                        return log_getopt_error(c, argv, v, options);
                default:
                        d = v->container_scope ? container_option_from_getopt(c) : NULL;
                        if (d)
                                r = apply_container_option(d, optarg);
                        else if (v->parse_option)
                                r = v->parse_option(c, optarg);
                        else
                                r = log_error_errno(-EINVAL, "Unhandled option.");
                        if (r < 0)
                                return r;
                }
        }

        if (arg_help) {
                help_verb(v);
                return 1;
        }

        *ret_optind = optind;
        return 0;
}

static int run(int argc, char *argv[]) {
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                { "json", no_argument, NULL, ARG_JSON },
                { "no-pager", no_argument, NULL, ARG_NO_PAGER },
                {},
        };
        const Verb *v;
        unsigned n_args;
        int c, r, first = 0;

        /* the global options, up to the verb */
        opterr = 0;
        while ((c = getopt_long(argc, argv, "+:h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        printf("vesselctl %s\n", PACKAGE_VERSION);
                        return 0;
                case ARG_JSON:
                        arg_json = true;
                        break;
                case ARG_NO_PAGER:
                        break;
                default:
                        (void) log_getopt_error(c, argv, NULL, options);
                        return EXIT_USAGE;
                }

        if (optind >= argc) {
                log_error("Missing command. See '%s --help'.", program_invocation_short_name);
                return EXIT_USAGE;
        }
        v = verb_find(argv[optind]);
        if (!v) {
                log_error(
                        "Unknown command '%s'. See '%s --help'.",
                        argv[optind],
                        program_invocation_short_name);
                return EXIT_USAGE;
        }

        /* the verb's options: argv[optind] is the verb, getopt's argv[0] */
        argc -= optind;
        argv += optind;
        r = parse_verb_argv(v, argc, argv, &first);
        if (r < 0)
                return r == -ENOMEM ? EXIT_FAILURE : EXIT_USAGE;
        if (r > 0)
                return 0;

        n_args = (unsigned) (argc - first);
        if (n_args < v->min_args) {
                log_error(
                        "Too few arguments for '%s': %s %s %s",
                        v->name,
                        program_invocation_short_name,
                        v->name,
                        v->synopsis);
                return EXIT_USAGE;
        }
        if (v->max_args != VERB_ANY && n_args > v->max_args) {
                log_error(
                        "Too many arguments for '%s': %s %s %s",
                        v->name,
                        program_invocation_short_name,
                        v->name,
                        v->synopsis);
                return EXIT_USAGE;
        }

        r = v->run((int) n_args, argv + first);
        return r < 0 ? EXIT_FAILURE : r;
}

int main(int argc, char *argv[]) {
        int r;

        log_set_target(LOG_TARGET_CONSOLE);
        log_set_prefix(program_invocation_short_name);
        (void) bus_error_register_vessel();
        container_options_init(&arg_container);

        r = run(argc, argv);

        container_options_done(&arg_container);
        strv_free(arg_properties);
        return r;
}
