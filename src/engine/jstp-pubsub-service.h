/* SPDX-License-Identifier: MIT */
/* jstp-pubsub-service.h: named channels ("pubsub" in the registry).
 *
 * Under its prefix (["pubsub"] by default):
 *
 *   POST   [PREFIX, CHANNEL]  body: the message, any JSON
 *          -> {"channel": CHANNEL, "seq": N}, N counting the channel's posts
 *   GET    [PREFIX, CHANNEL]  body (optional): {"last": N}
 *          -> {"channel": CHANNEL, "messages": [{"seq", "timestamp", "body"}...]},
 *             the kept messages oldest first, only the last N when asked
 *   DELETE [PREFIX, CHANNEL]  -> {"channel": CHANNEL, "dropped": N}: forgets
 *             the channel and its messages
 *
 * Subscribers BIND `POST [PREFIX, CHANNEL]` (or `POST [PREFIX, "*"]`) and
 * receive every post as it was sent: the engine delivers it, the service
 * only keeps the history. A post that carries a transaction is answered
 * by the service and by every subscriber that answers.
 *
 * Each channel keeps its last #JstpPubsubService:history messages within
 * #JstpPubsubService:history-bytes of bodies; a post to a new channel past
 * #JstpPubsubService:max-channels is refused 429. Its status holds
 * {"channels", "posts", "kept", "kept_bytes", "history", "history_bytes"}.
 */
#pragma once

#include "jstp-service.h"

G_BEGIN_DECLS

#define JSTP_TYPE_PUBSUB_SERVICE (jstp_pubsub_service_get_type ())

G_DECLARE_FINAL_TYPE (JstpPubsubService, jstp_pubsub_service, JSTP, PUBSUB_SERVICE, JstpService)

JstpService  *jstp_pubsub_service_new          (void);

/* Messages kept per channel; default 100, 0 keeps none. */
guint         jstp_pubsub_service_get_history  (JstpPubsubService *self);
void          jstp_pubsub_service_set_history  (JstpPubsubService *self,
                                                guint              history);

G_END_DECLS
