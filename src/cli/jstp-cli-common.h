/* SPDX-License-Identifier: MIT */
/* jstp-cli-common.h: what every `jstp` subcommand shares: host addresses,
 * JSON arguments, output, exit codes, and a local engine with one outbound
 * connection to talk through. */
#pragma once

#include <gio/gio.h>

#include "jstp-engine.h"
#include "jstp-key.h"
#include "jstp-network.h"

G_BEGIN_DECLS

/* Exit codes, the same for every subcommand (documented in `jstp --help`). */
typedef enum {
  JSTP_CLI_EXIT_OK          = 0,  /* 2xx answers, or nothing went wrong */
  JSTP_CLI_EXIT_STATUS      = 1,  /* an answer with another status */
  JSTP_CLI_EXIT_USAGE       = 2,  /* bad arguments */
  JSTP_CLI_EXIT_UNREACHABLE = 3,  /* cannot connect, no answer in time, 502/503/504 */
} JstpCliExit;

#define JSTP_CLI_DEFAULT_TIMEOUT_MS 15000

/* One row of the subcommand table in main.c. @run gets argv[0] = its name. */
typedef struct {
  const char *name;
  const char *parameters;   /* N_(): the arguments, for the command list */
  const char *summary;      /* N_() */
  int       (*run) (int argc, char **argv);
} JstpCliCommand;

int  jstp_cli_send (int argc, char **argv);
int  jstp_cli_bind (int argc, char **argv);
int  jstp_cli_info (int argc, char **argv);
int  jstp_cli_status (int argc, char **argv);
int  jstp_cli_keys (int argc, char **argv);

/* ---- keys (jstp-cli-keys.c) -------------------------------------------- */

/* $JSTP_KEY_PASSPHRASE, or asked on the terminal without echo (twice with
 * @confirm). Locked memory: free with jstp_cli_passphrase_free(). */
char        *jstp_cli_read_passphrase    (const char        *prompt,
                                          gboolean           confirm,
                                          GError           **error);
void         jstp_cli_passphrase_free    (char              *passphrase);
/* An own key of the default keyring, unlocked with the passphrase. */
JstpKey     *jstp_cli_unlock_key         (const char        *id_or_name,
                                          GError           **error);
/* --sign KEY and --encrypt-to NAME: seals the body to NAME's key (when
 * given), then signs with KEY. Both %NULL: nothing to do. */
gboolean     jstp_cli_secure_dispatch    (JstpDispatch      *dispatch,
                                          const char        *sign_key,
                                          const char        *encrypt_to,
                                          GError           **error);

/* ---- messages ---------------------------------------------------------- */

/* "jstp: <message>\n" on stderr. */
void         jstp_cli_error              (const char *format,
                                          ...) G_GNUC_PRINTF (1, 2);
/* Prints the message after "jstp: " with a hint to run @command (or jstp
 * itself, when %NULL) with --help; returns JSTP_CLI_EXIT_USAGE. */
int          jstp_cli_usage_error        (const char *command,
                                          const char *format,
                                          ...) G_GNUC_PRINTF (2, 3);

/* ---- hosts ------------------------------------------------------------- */

typedef struct {
  char *label;      /* "tcp" or "ws" */
  char *address;    /* no brackets around IPv6 addresses */
  guint16 port;
} JstpCliHost;

/* "tcp://addr:port", "ws://[::1]:port", "addr:port" or "addr" (tcp, default
 * port of the transport). Errors are translated, ready to print. */
JstpCliHost *jstp_cli_host_parse         (const char        *text,
                                          GError           **error);
void         jstp_cli_host_free          (JstpCliHost       *host);
/* The canonical form, "tcp://127.0.0.1:33333" or "ws://[::1]:33334". */
char        *jstp_cli_host_to_string     (const JstpCliHost *host);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (JstpCliHost, jstp_cli_host_free)

/* ---- JSON arguments and output ----------------------------------------- */

/* Checks @json with the engine's strict scanner; @what names the argument
 * in the message ("RESOURCE-JSON"). */
gboolean     jstp_cli_check_json         (const char        *what,
                                          const char        *json,
                                          GError           **error);
/* A JSON array of strings, as a resource pattern. */
char       **jstp_cli_parse_string_array (const char        *what,
                                          const char        *json,
                                          GError           **error);
/* Reads all of stdin (for `-` arguments). */
char        *jstp_cli_read_stdin         (GError           **error);

/* Re-indents (or compacts) JSON that the scanner accepted, keeping every
 * scalar exactly as written: numbers are never rounded. */
char        *jstp_cli_format_json        (const char        *json,
                                          gboolean           pretty);
/* --pretty / --compact / neither (pretty when stdout is a terminal). */
gboolean     jstp_cli_want_pretty        (gboolean           pretty,
                                          gboolean           compact);

/* The translated reason phrase of a status; %NULL for statuses JSTP does not name. */
const char  *jstp_cli_status_phrase      (guint              status);
/* "404 Not Found" on stderr. */
void         jstp_cli_print_status       (guint              status);
/* The exit code an answer with @status stands for. */
JstpCliExit  jstp_cli_exit_for_status    (guint              status);

/* ---- the main loop ----------------------------------------------------- */

/* A one-shot timer on the default context that sets *@flag to TRUE; free it
 * with jstp_cli_timer_free() whether or not it fired. */
GSource     *jstp_cli_timer_new          (guint              timeout_ms,
                                          gboolean          *flag);
void         jstp_cli_timer_free         (GSource           *timer);

/* ---- the local engine -------------------------------------------------- */

typedef struct {
  JstpEngine *engine;
  JstpNetwork *network;
  JstpCliHost *host;            /* what the connection goes to */
  JstpConnection *connection;   /* the pooled outbound connection */
} JstpCliClient;

JstpCliClient *jstp_cli_client_new       (void);
void         jstp_cli_client_free        (JstpCliClient     *client);
/* Opens the outbound connection the engine will forward through, waiting
 * at most @timeout_ms; the error says why in words a user understands. */
gboolean     jstp_cli_client_connect     (JstpCliClient     *client,
                                          const JstpCliHost *host,
                                          guint              timeout_ms,
                                          GError           **error);
/* Emits @dispatch (with its hops set) with no answer callback and runs the
 * main context until it has been written to the socket, or @timeout_ms
 * passed; FALSE on timeout or a closed connection. */
gboolean     jstp_cli_client_emit_and_flush (JstpCliClient  *client,
                                          JstpDispatch      *dispatch,
                                          guint              timeout_ms);
/* Emits @dispatch (with its hops set) and returns the first answer, or
 * %NULL when none came within @timeout_ms. */
JstpDispatch *jstp_cli_client_request    (JstpCliClient     *client,
                                          JstpDispatch      *dispatch,
                                          guint              timeout_ms);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (JstpCliClient, jstp_cli_client_free)

G_END_DECLS
