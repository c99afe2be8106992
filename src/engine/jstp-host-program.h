/* SPDX-License-Identifier: MIT */
/* What every engine program (jstpd, monje, pajaro) does around its engine:
 * the listening flags, listening on TCP and WebSocket, the one line that
 * says where, and running until SIGINT or SIGTERM. */
#pragma once

#include <glib.h>

#include "jstp-network.h"

G_BEGIN_DECLS

/* A port no flag set: jstp_host_program_resolve() puts the default there. */
#define JSTP_HOST_PROGRAM_PORT_UNSET G_MININT

/* One program's defaults. The help texts name the defaults, so each
 * program marks its own with N_(). */
typedef struct {
  const char *program;          /* first word of the listening line */
  const char *log_domain;       /* the program's G_LOG_DOMAIN */
  const char *default_name;     /* NULL: the host name */
  int default_tcp_port;
  int default_ws_port;
  const char *name_help;
  const char *tcp_port_help;
  const char *ws_port_help;
} JstpHostProgramDefaults;

/* Lives as long as the program: the option entries point into it. */
typedef struct {
  char *name;
  char *listen;
  int tcp_port;                 /* -1: disabled, 0: any free port */
  int ws_port;
  gboolean no_tcp;
  gboolean no_ws;

  /*< private >*/
  const JstpHostProgramDefaults *defaults;
  GOptionEntry entries[7];
  JstpNetwork *network;
  GString *line;
  GMainLoop *loop;
} JstpHostProgram;

void                jstp_host_program_init         (JstpHostProgram               *self,
                                                    const JstpHostProgramDefaults *defaults);
void                jstp_host_program_clear        (JstpHostProgram               *self);

/* --name, --listen, --tcp-port, --ws-port, --no-tcp and --no-ws, bound to
 * @self; to add before the program's own entries. */
const GOptionEntry *jstp_host_program_get_entries  (JstpHostProgram               *self);

/* Both ports within -1 to 65535. */
gboolean            jstp_host_program_check_ports  (JstpHostProgram               *self,
                                                    GError                       **error);

/* Fills in the defaults, applies --no-tcp and --no-ws, and fails when
 * nothing is left to listen on. */
gboolean            jstp_host_program_resolve      (JstpHostProgram               *self,
                                                    GError                       **error);

/* Listens on the enabled transports; the error is a sentence to print. */
gboolean            jstp_host_program_listen       (JstpHostProgram               *self,
                                                    JstpNetwork                   *network,
                                                    GError                       **error);

/* Prints "PROGRAM listening: tcp A:P ws A:P" and runs the main loop until
 * SIGINT or SIGTERM. */
void                jstp_host_program_run          (JstpHostProgram               *self);

/* Closes the network and lets the closes reach the peers. */
void                jstp_host_program_shutdown     (JstpHostProgram               *self);

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (JstpHostProgram, jstp_host_program_clear)

G_END_DECLS
