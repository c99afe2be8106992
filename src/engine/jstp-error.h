/* SPDX-License-Identifier: MIT */
/* jstp-error.h: the engine's error domain. Codes are JSTP answer statuses,
 * so a GError can be turned into an ANSWER without a lookup table. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define JSTP_ERROR (jstp_error_quark ())

typedef enum {
  JSTP_STATUS_OK                      = 200,
  JSTP_STATUS_BAD_DISPATCH            = 400,
  JSTP_STATUS_UNAUTHORIZED            = 401,
  JSTP_STATUS_FORBIDDEN               = 403,
  JSTP_STATUS_NOT_FOUND               = 404,
  JSTP_STATUS_METHOD_NOT_ALLOWED      = 405,
  JSTP_STATUS_UNBOUND_ENDPOINT        = 406,
  JSTP_STATUS_UNRECOGNIZED_TRANSPORT  = 409,
  JSTP_STATUS_TOO_LARGE               = 413,
  JSTP_STATUS_SATURATED               = 429,
  JSTP_STATUS_BAD_SIGNATURE           = 498,
  JSTP_STATUS_CANNOT_DECRYPT          = 499,
  JSTP_STATUS_INTERNAL_ERROR          = 500,
  JSTP_STATUS_NOT_IMPLEMENTED         = 501,
  JSTP_STATUS_UNREACHABLE             = 502,
  JSTP_STATUS_INVALID_REMOTE_HOST     = 503,
  JSTP_STATUS_TIMEOUT                 = 504,
  JSTP_STATUS_VERSION_NOT_SUPPORTED   = 505,
  JSTP_STATUS_GATEWAY_DISABLED        = 506,
} JstpStatus;

GQuark       jstp_error_quark         (void);

/* Short English reason phrase for a status ("Not Found"); programs translate. */
const char  *jstp_status_get_phrase   (guint status);

G_END_DECLS
