/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Registration with systemd-machined, where it runs: `machinectl list`, `status` and `terminate` then
 * work on our containers. RegisterMachine (not CreateMachine): the scope is ours already, machined
 * finds it from the leader. Without machined nothing fails: the calls are fire and forget, and go out
 * only while machined holds its name (we follow NameOwnerChanged); when it appears, every running
 * container is registered, so one started before machined is a machine too. */
#include <errno.h>
#include <stdio.h>

#include "bus-util.h"
#include "hashmap.h"
#include "log.h"
#include "machine.h"
#include "scope.h"

static int on_register_machine(sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        char *name = userdata;

        if (sd_bus_error_is_set(error)) {
                /* no machined here (not installed, or not running without bus activation) is fine */
                if (!sd_bus_error_has_names(error, SD_BUS_ERROR_SERVICE_UNKNOWN, SD_BUS_ERROR_NAME_HAS_NO_OWNER))
                        log_debug("Could not register container %s with machined: %s", name, error->message);
        } else
                log_debug("Registered container %s with machined.", name);
        free(name);
        return 0;
}

static int on_unregister_machine(sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return 0;
}

int machine_register(Container *c) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        uint8_t id[16];
        char *name;
        int r;

        if (!c->manager->bus || !c->manager->machined || c->leader <= 0)
                return 0;
        for (size_t i = 0; i < sizeof id; i++)
                sscanf(c->id + 2 * i, "%2hhx", &id[i]);

        r = sd_bus_message_new_method_call(c->manager->bus, &m, "org.freedesktop.machine1", "/org/freedesktop/machine1",
                                           "org.freedesktop.machine1.Manager", "RegisterMachine");
        if (r < 0)
                return r;
        r = sd_bus_message_append(m, "s", c->name);
        if (r >= 0)
                r = sd_bus_message_append_array(m, 'y', id, sizeof id);
        if (r >= 0)
                r = sd_bus_message_append(m, "ssus", "vessel", "container", (uint32_t) c->leader, "");
        if (r < 0)
                return r;
        /* don't start machined for us: a host without it is a host without it */
        r = sd_bus_message_set_auto_start(m, false);
        if (r < 0)
                return r;
        name = strdup(c->name);
        if (!name)
                return -ENOMEM;
        r = systemd_call(c->manager, m, on_register_machine, name);
        if (r < 0) {
                free(name);
                return r;
        }
        c->machine_registered = true;
        return 0;
}

int machine_unregister(Container *c) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        if (!c->machine_registered)
                return 0;
        c->machine_registered = false;
        if (!c->manager->bus || !c->manager->machined)
                return 0; /* gone, and our machines with it */
        r = sd_bus_message_new_method_call(c->manager->bus, &m, "org.freedesktop.machine1", "/org/freedesktop/machine1",
                                           "org.freedesktop.machine1.Manager", "UnregisterMachine");
        if (r < 0)
                return r;
        r = sd_bus_message_append(m, "s", c->name);
        if (r >= 0)
                r = sd_bus_message_set_auto_start(m, false);
        if (r < 0)
                return r;
        return systemd_call(c->manager, m, on_unregister_machine, NULL);
}

static void machined_appeared(Manager *m) {
        Container *c;

        if (m->machined)
                return;
        m->machined = true;
        HASHMAP_FOREACH(c, m->containers)
                if (c->leader > 0 && !c->spawn && container_is_active(c))
                        (void) machine_register(c);
}

static int on_machined_owner_changed(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        const char *name, *old_owner, *new_owner;
        Container *c;

        if (sd_bus_message_read(message, "sss", &name, &old_owner, &new_owner) < 0)
                return 0;
        if (!isempty(new_owner)) {
                machined_appeared(m);
                return 0;
        }
        m->machined = false;
        HASHMAP_FOREACH(c, m->containers)
                c->machine_registered = false;
        return 0;
}

static int on_get_name_owner(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        /* An error reply is "no owner": then NameOwnerChanged tells us when it comes. The error is in
         * the reply; ret_error is for us to fill, and always empty here. */
        if (!sd_bus_message_is_method_error(reply, NULL))
                machined_appeared(userdata);
        return 0;
}

int machine_watch(Manager *m) {
        int r;

        if (!m->bus)
                return 0;
        /* the match first: dbus-daemon answers in order, so no change falls between the two */
        r = sd_bus_add_match_async(m->bus, NULL,
                                   "type='signal',sender='org.freedesktop.DBus',path='/org/freedesktop/DBus',"
                                   "interface='org.freedesktop.DBus',member='NameOwnerChanged',"
                                   "arg0='org.freedesktop.machine1'",
                                   on_machined_owner_changed, NULL, m);
        if (r >= 0)
                r = sd_bus_call_method_async(m->bus, NULL, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                             "org.freedesktop.DBus", "GetNameOwner", on_get_name_owner, m, "s",
                                             "org.freedesktop.machine1");
        if (r < 0)
                return log_warning_errno(r, "Cannot follow systemd-machined on the bus, containers will not be machines: %m");
        return 0;
}
