/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "manager.h"

/* Network namespaces made while vesseld is idle, for containers to join. Making one is the costliest
 * part of clone() for a container (about half a millisecond); taken from the pool, it costs the
 * container's start a setns(). */

/* An fd of an unused network namespace (the caller owns it), or -EAGAIN when the pool is empty, in
 * which case the caller makes its own with CLONE_NEWNET. Refills the pool later, when idle. */
int netns_pool_take(Manager *m);

/* Starts filling the pool when the loop is idle. */
int netns_pool_start(Manager *m);
void netns_pool_done(Manager *m);
