/* SPDX-License-Identifier: MIT */
/* jstp-service-registry.h: services by name, for programs that enable them
 * from their configuration (`jstpd --service NAME`).
 *
 * The built-in services are always there: "rpc" (jstp-rpc-service.h),
 * "pubsub" (jstp-pubsub-service.h) and "presence"
 * (jstp-presence-service.h). Programs may register their own.
 */
#pragma once

#include "jstp-service.h"

G_BEGIN_DECLS

/**
 * jstp_service_registry_register:
 * @name: what jstp_service_new_by_name() takes; also the service's name
 * @type: a #JstpService type with a writable "name" property
 * @summary: one line for people (`jstpd --help` lists it)
 *
 * A second registration of @name replaces the first.
 */
void          jstp_service_registry_register   (const char   *name,
                                                GType         type,
                                                const char   *summary);
/* The registered names, sorted. (transfer full) */
GStrv         jstp_service_registry_list       (void);
/* (nullable): %NULL for an unknown name */
const char   *jstp_service_registry_get_summary (const char  *name);

/**
 * jstp_service_new_by_name:
 * @spec: "NAME" or "NAME:KEY=VALUE,KEY=VALUE...", where each KEY is a
 *   writable property of the service ("pubsub:history=100"); "prefix" takes
 *   its elements separated by `/` ("pubsub:prefix=chat/rooms")
 * @error: a %G_IO_ERROR: NOT_FOUND for an unknown name or property,
 *   INVALID_ARGUMENT for a value that does not fit the property
 *
 * Returns: (transfer full) (nullable): a new, unmounted service
 */
JstpService  *jstp_service_new_by_name         (const char   *spec,
                                                GError      **error);

G_END_DECLS
