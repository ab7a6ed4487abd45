/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "manager.h"

/* Long work (imports, exports) as an io.vessel1.Transfer object at /io/vessel1/transfer/<id>. The work
 * runs in a forked worker process, so the event loop keeps serving every other call, a crash of the
 * worker is only a failed transfer, and Cancel() is a SIGKILL. The worker reports over a
 * SOCK_SEQPACKET pair: progress, one error message, one result string. */

#define TRANSFERS_MAX 16U

typedef enum TransferType {
        TRANSFER_IMPORT,
        TRANSFER_EXPORT_IMAGE,
        TRANSFER_EXPORT_CONTAINER,
        _TRANSFER_TYPE_MAX,
        _TRANSFER_TYPE_INVALID = -EINVAL,
} TransferType;

typedef struct Transfer Transfer;

/* In the worker: returns 0 on success, < 0 on failure (after transfer_worker_error()). */
typedef int (*TransferWork)(Transfer *t, void *userdata);
/* In vesseld, after the worker ended: r is 0, or < 0 (-ECANCELED when canceled); 'result' what the
 * worker reported with transfer_worker_result(), NULL if nothing. Returns < 0 to turn success into a
 * failure (then t->error says why). */
typedef int (*TransferFinished)(Transfer *t, int r, const char *result, void *userdata);

struct Transfer {
        Manager *manager;
        uint32_t id;
        char id_string[12]; /* the hashmap key */
        TransferType type;
        char *description; /* the image or container it is about */

        pid_t pid;
        int pidfd;
        sd_event_source *child_source;
        int fd; /* our end of the pair; in the worker, the worker's end */
        sd_event_source *fd_source;

        uint64_t bytes_done, bytes_total;
        char *error;  /* the worker's (or our) message on failure */
        char *result; /* what the worker reported on success */
        bool canceled;

        char *work_dir; /* removed, whatever happened, when the worker is gone */

        TransferFinished on_finished;
        void *userdata;
        void (*free_userdata)(void *);
};

int transfer_new(Manager *m, TransferType type, const char *description, Transfer **ret);
Transfer *transfer_free(Transfer *t);
DEFINE_TRIVIAL_CLEANUP_FUNC(Transfer *, transfer_free);

/* Forks the worker. On success the Transfer belongs to the manager, and is announced with TransferNew;
 * on failure the caller still owns it. */
int transfer_start(Transfer *t, TransferWork work, void *userdata);
int transfer_cancel(Transfer *t);
Transfer *manager_find_transfer(Manager *m, uint32_t id);
/* A running transfer of this type about this image or container (its description), or NULL. */
Transfer *manager_find_transfer_about(Manager *m, TransferType type, const char *description);
int transfer_get_path(Transfer *t, char **ret);

/* worker side */
void transfer_worker_progress(Transfer *t, uint64_t done, uint64_t total);
int transfer_worker_error(Transfer *t, int r, const char *fmt, ...) _printf_(3, 4);
void transfer_worker_result(Transfer *t, const char *result);

const char *transfer_type_to_string(TransferType t);
TransferType transfer_type_from_string(const char *s);

/* the bus face */
extern const sd_bus_vtable transfer_vtable[];
int transfer_object_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **found,
                         sd_bus_error *error);
int transfer_node_enumerator(sd_bus *bus, const char *path, void *userdata, char ***nodes, sd_bus_error *error);
int method_list_transfers(sd_bus_message *message, void *userdata, sd_bus_error *error);
int method_cancel_transfer(sd_bus_message *message, void *userdata, sd_bus_error *error);
void manager_free_transfers(Manager *m);
