/* SPDX-License-Identifier: MIT */
/* jstp-web.h: plain HTTP on an engine's WebSocket port.
 *
 * Browsers speak JSTP over WebSocket; so that they need nothing else, the
 * same port also serves, from the engine's GResource
 * (/io/github/tablero/jstp/):
 *
 *   GET /          the status page (data/jstp-page.html): the engine's
 *                  figures, live, and a form to send dispatches
 *   GET /jstp.js   the JavaScript client (data/jstp.js), which also runs
 *                  unchanged in Node.js with the `ws` package
 *
 * Any other path is 404, any other method 405. WebSocket upgrades, on any
 * path, are left to the WebSocket handler.
 */
#pragma once

#include <libsoup/soup.h>

G_BEGIN_DECLS

/* Where the files live in the resource. */
#define JSTP_WEB_RESOURCE_PATH "/io/github/tablero/jstp/"

/**
 * jstp_web_handle:
 *
 * A #SoupServerCallback for the path the WebSocket handler was added on:
 * upgrade requests leave it without a status, which lets libsoup go on
 * with the handshake; everything else is answered here.
 */
void      jstp_web_handle          (SoupServer         *server,
                                    SoupServerMessage  *msg,
                                    const char         *path,
                                    GHashTable         *query,
                                    gpointer            user_data);

/* TRUE when @msg asks to upgrade to WebSocket (whether or not the
 * handshake is valid: libsoup answers a bad one). */
gboolean  jstp_web_is_upgrade      (SoupServerMessage  *msg);

G_END_DECLS
