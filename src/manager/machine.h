/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "container.h"

int machine_register(Container *c);
int machine_unregister(Container *c);
