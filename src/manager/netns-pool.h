/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "manager.h"

/* Network namespaces made while vesseld is idle, for bridged containers to join: their veth's peer
 * goes into the namespace from our loop while systemd works on the scope. Making one takes about half
 * a millisecond; taken from the pool, it costs the container's start a setns(). (Network=none needs
 * no namespace from us: the container's setup makes its own.) */

/* An fd of an unused network namespace (the caller owns it), or -EAGAIN when the pool is empty, in
 * which case the caller makes its own with CLONE_NEWNET. Refills the pool later, when idle. */
int netns_pool_take(Manager *m);

/* Starts filling the pool when the loop is idle. */
int netns_pool_start(Manager *m);
void netns_pool_done(Manager *m);
