/* SPDX-License-Identifier: MIT */
/* jstp-log.h: log levels per domain, over GLib's structured logging.
 *
 * The engine logs under the GLib domain "Jstp", each service under
 * "Jstp-NAME" (jstp_service_get_log_domain()), programs under their own.
 * A level set here for a domain decides what of that domain is written,
 * whatever G_MESSAGES_DEBUG says; domains with no level set are left to
 * GLib's default writer. Levels come from the JSTP_DEBUG environment
 * variable (read by jstp_log_init()) or a program's flags, in one syntax:
 *
 *   JSTP_DEBUG=engine,pubsub           debug for the engine and pubsub
 *   jstpd --log-level presence=info --log-level engine=warning
 *   JSTP_DEBUG=all                     debug for every domain
 *
 * A name matches the GLib domain of the same name (any case), "Jstp-NAME",
 * and "engine" matches "Jstp". Warnings and worse are always written.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/**
 * jstp_log_init:
 *
 * Installs the writer (once per process; later calls do nothing) and
 * applies $JSTP_DEBUG. Call it early in main(), before the first message;
 * a program that installs a GLib log writer of its own should not call it.
 * Returns: FALSE when $JSTP_DEBUG could not be read (it is then ignored and
 *   a warning says why)
 */
gboolean        jstp_log_init          (void);

/**
 * jstp_log_parse_levels:
 * @spec: "NAME[=LEVEL],..." where LEVEL is error, critical, warning,
 *   message, info or debug (the default); NAME "all" or "*" sets the level
 *   of every domain without one of its own
 * @error: a %G_OPTION_ERROR naming the bad entry
 *
 * Sets the levels @spec names; nothing is changed when it is invalid.
 */
gboolean        jstp_log_parse_levels  (const char     *spec,
                                        GError        **error);

/* The least severe level written for @name; 0 forgets it. */
void            jstp_log_set_level     (const char     *name,
                                        GLogLevelFlags  level);
/* Whether a message of @level in the GLib domain @domain would be written:
 * lets callers skip building costly messages. */
gboolean        jstp_log_is_enabled    (const char     *domain,
                                        GLogLevelFlags  level);

/**
 * jstp_log_fields:
 * @fields: (array length=n_fields) (nullable): extra structured fields
 *   (upper-case keys, string values), such as JSTP_SERVICE
 *
 * Logs one structured message in @domain. Cheap when the level is off.
 */
void            jstp_log_fields        (const char     *domain,
                                        GLogLevelFlags  level,
                                        const GLogField *fields,
                                        gsize           n_fields,
                                        const char     *format,
                                        ...) G_GNUC_PRINTF (5, 6);

G_END_DECLS
