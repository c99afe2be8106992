/* SPDX-License-Identifier: MIT */
/* jstp-presence-service.h: who is in a channel ("presence" in the
 * registry).
 *
 * Under its prefix (["presence"] by default):
 *
 *   PUT    [PREFIX, CHANNEL]  {"name": STRING, "data": ANY (optional)}
 *          joins CHANNEL as NAME, or updates its data; -> {"channel",
 *          "members"}. 403 when another connection holds NAME there.
 *   DELETE [PREFIX, CHANNEL]  {"name": STRING} (optional: all of the
 *          connection's names) leaves; -> {"channel", "left": [NAME...]},
 *          404 when it was not there.
 *   GET    [PREFIX, CHANNEL]  -> {"channel", "members": [MEMBER...]}, in
 *          the order they joined.
 *
 * MEMBER is {"name", "since" (ms since the epoch), "data" (when given)}.
 * A member belongs to the connection that joined it (or to the engine's
 * local emitters): when that connection closes, its members leave. The
 * service publishes, as exclusive events (peers cannot forge them):
 *
 *   POST [PREFIX, CHANNEL, "join"]   {"channel", "member": MEMBER}
 *   POST [PREFIX, CHANNEL, "leave"]  {"channel", "member": MEMBER,
 *                                     "reason": "left" or "closed"}
 *
 * Names are 1 to 64 characters. Members are counted against
 * #JstpPresenceService:max-members over all channels (429 past it). Its
 * status holds {"channels", "members", "joins", "leaves"}.
 */
#pragma once

#include "jstp-service.h"

G_BEGIN_DECLS

#define JSTP_TYPE_PRESENCE_SERVICE (jstp_presence_service_get_type ())

G_DECLARE_FINAL_TYPE (JstpPresenceService, jstp_presence_service, JSTP, PRESENCE_SERVICE,
                      JstpService)

JstpService  *jstp_presence_service_new            (void);

/* Members of @channel now; 0 for an unknown channel. */
guint         jstp_presence_service_count_members  (JstpPresenceService *self,
                                                    const char          *channel);

G_END_DECLS
