/* SPDX-License-Identifier: MIT */
/* jstp-pool-member-private.h: how #JstpPool keeps its members up to date;
 * nobody else changes a member. */
#pragma once

#include "jstp-pool-member.h"

G_BEGIN_DECLS

JstpPoolMember *_jstp_pool_member_new          (const char          *address,
                                                guint16              port,
                                                const char          *label);
/* Takes a status body (already parsed into @status) as the member's last
 * report; the member is up from now on. */
void            _jstp_pool_member_set_status   (JstpPoolMember      *self,
                                                JsonObject          *status,
                                                const char          *json,
                                                gint64               now_us);
void            _jstp_pool_member_set_state    (JstpPoolMember      *self,
                                                JstpPoolMemberState  state,
                                                const char          *error);
void            _jstp_pool_member_set_shedding (JstpPoolMember      *self,
                                                gboolean             shedding);
/* One more dispatch sent, and whether it waits for answers. */
void            _jstp_pool_member_chosen       (JstpPoolMember      *self,
                                                gboolean             in_flight);
void            _jstp_pool_member_answered     (JstpPoolMember      *self);

G_END_DECLS
