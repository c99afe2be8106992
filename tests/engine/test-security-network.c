/* SPDX-License-Identifier: MIT */
/* test-security-network.c: signed and encrypted dispatches between engines
 * over real loopback sockets, TCP and WebSocket, through two gateways that
 * only ever see ciphertext. */
#include <string.h>
#include <sodium.h>

#include "jstp-engine.h"
#include "jstp-network.h"
#include "jstp-security.h"

#define SECRET "attack at dawn"

static JstpKey *alice, *bob, *carol;

typedef struct {
  JstpEngine *engine;
  JstpNetwork *network;
  JstpSecurity *security;
  GPtrArray *traffic;       /* char *, every dispatch the engine saw or sent */
} Peer;

typedef struct {
  GPtrArray *answers;       /* JstpDispatch */
} Log;

/* What the recipient's bind callback saw. */
typedef struct {
  guint count;
  char *author;
  char *body;
  JstpSecurityFlags flags;
} Inbox;

static void
on_traffic (JstpEngine     *engine,
            JstpDispatch   *dispatch,
            JstpConnection *connection,
            gboolean        outgoing,
            gpointer        data)
{
  Peer *peer = data;

  g_ptr_array_add (peer->traffic, jstp_dispatch_to_string (dispatch));
}

static Peer *
peer_new (const char *name,
          JstpKey    *key)
{
  Peer *peer = g_new0 (Peer, 1);
  g_autoptr(GError) error = NULL;

  peer->engine = jstp_engine_new (name);
  peer->network = jstp_network_new (peer->engine);
  peer->traffic = g_ptr_array_new_with_free_func (g_free);
  g_assert_true (jstp_network_listen (peer->network, "tcp", "127.0.0.1", 0, &error));
  g_assert_no_error (error);
  g_assert_true (jstp_network_listen (peer->network, "ws", "127.0.0.1", 0, &error));
  g_assert_no_error (error);
  g_signal_connect (peer->engine, "traffic", G_CALLBACK (on_traffic), peer);
  if (key)
    {
      peer->security = jstp_security_new ();
      jstp_security_add_key (peer->security, key);
      jstp_security_set_policy (peer->security, JSTP_VERIFY_REQUIRE);
      jstp_security_attach (peer->security, peer->engine);
    }
  return peer;
}

static void
peer_free (Peer *peer)
{
  jstp_network_close (peer->network);
  g_object_unref (peer->network);
  g_signal_handlers_disconnect_by_func (peer->engine, on_traffic, peer);
  g_object_unref (peer->engine);
  g_clear_object (&peer->security);
  g_ptr_array_unref (peer->traffic);
  g_free (peer);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Peer, peer_free)

/* Makes @gateway forward network traffic to @next's listener of @label. */
static void
open_gateway (Peer       *gateway,
              Peer       *next,
              const char *label)
{
  g_autofree char *allowed = g_strdup_printf ("127.0.0.1:%u",
                                              jstp_network_get_port (next->network, label));
  const char *allowlist[] = { allowed, NULL };

  g_object_set (gateway->engine, "gateway-remote", TRUE, NULL);
  jstp_network_set_gateway_allowlist (gateway->network, allowlist);
}

static Log *
log_new (void)
{
  Log *log = g_new0 (Log, 1);

  log->answers = g_ptr_array_new_with_free_func ((GDestroyNotify) jstp_dispatch_unref);
  return log;
}

static void
log_free (Log *log)
{
  g_ptr_array_unref (log->answers);
  g_free (log);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Log, log_free)

static void
on_answer (JstpEngine   *engine,
           JstpDispatch *answer,
           gpointer      data)
{
  g_ptr_array_add (((Log *) data)->answers, jstp_dispatch_ref (answer));
}

static void
on_letter (JstpEngine         *engine,
           JstpDispatch       *dispatch,
           const JstpCaptures *captures,
           gpointer            data)
{
  Inbox *inbox = data;

  /* "*" also matches the BIND that made this subscription. */
  if (jstp_dispatch_get_morphology (dispatch) == JSTP_MORPHOLOGY_SUBSCRIPTION)
    return;
  inbox->count++;
  g_free (inbox->author);
  g_free (inbox->body);
  inbox->author = g_strdup (jstp_security_get_author (dispatch));
  inbox->body = g_strdup (jstp_security_get_body_json (dispatch));
  inbox->flags = jstp_security_get_flags (dispatch);
  jstp_engine_answer (engine, dispatch, 200, "{\"read\":true}");
}

static void
inbox_clear (Inbox *inbox)
{
  g_clear_pointer (&inbox->author, g_free);
  g_clear_pointer (&inbox->body, g_free);
}

static gboolean
has_answer (gpointer data)
{
  return ((Log *) data)->answers->len > 0;
}

static gboolean
wait_for (gboolean (*cond) (gpointer),
          gpointer  data,
          guint     timeout_ms)
{
  gint64 end = g_get_monotonic_time () + (gint64) timeout_ms * 1000;

  while (!cond (data))
    {
      if (g_get_monotonic_time () > end)
        return FALSE;
      g_main_context_iteration (NULL, FALSE);
      g_usleep (200);
    }
  return TRUE;
}

static JstpDispatch *
letter (void)
{
  JstpDispatch *d = jstp_dispatch_new (JSTP_METHOD_POST,
                                       (const char *[]) { "inbox", "bob", NULL });

  g_assert_true (jstp_dispatch_set_body_json (d, "{\"text\":\"" SECRET "\",\"n\":7}", NULL));
  g_assert_true (jstp_dispatch_set_referer_json (d, "{\"name\":\"alice\"}", NULL));
  g_assert_true (jstp_dispatch_set_extension (d, "x-foo", "[1,2]", NULL));
  return d;
}

/* Emits @d from @from and returns the status of the first answer. */
static guint
send_and_wait (Peer         *from,
               JstpDispatch *d)
{
  g_autoptr(Log) log = log_new ();
  JstpDispatch *answer;

  jstp_engine_emit (from->engine, d, on_answer, log, NULL);
  g_assert_true (wait_for (has_answer, log, 5000));
  answer = g_ptr_array_index (log->answers, 0);
  g_test_message ("answer %u %s", jstp_dispatch_get_status (answer),
                  jstp_dispatch_get_body_json (answer));
  return jstp_dispatch_get_status (answer);
}

static void
add_hop (JstpDispatch *d,
         Peer         *peer,
         const char   *label)
{
  jstp_dispatch_add_hop (d, "127.0.0.1", jstp_network_get_port (peer->network, label), label);
}

/* A → G1 → G2 → B, signed by Alice and sealed to Bob: Bob reads it and
 * knows it is Alice's; the gateways carried only ciphertext. */
static void
test_through_gateways (gconstpointer data)
{
  const char *label = data;
  g_autoptr(Peer) a = peer_new ("a", NULL);
  g_autoptr(Peer) g1 = peer_new ("g1", NULL);
  g_autoptr(Peer) g2 = peer_new ("g2", NULL);
  g_autoptr(Peer) b = peer_new ("b", bob);
  g_autoptr(JstpDispatch) d = letter ();
  g_autoptr(GError) error = NULL;
  Inbox inbox = { 0 };
  guint sealed_seen = 0;

  open_gateway (g1, g2, label);
  open_gateway (g2, b, label);
  jstp_engine_bind (b->engine, "POST", (const char *[]) { "inbox", "bob", NULL }, on_letter,
                    &inbox, NULL, NULL);

  g_assert_true (jstp_security_encrypt (d, alice, bob, &error));
  g_assert_true (jstp_security_sign (d, alice, jstp_key_get_id (bob), &error));
  g_assert_no_error (error);
  add_hop (d, g1, label);
  add_hop (d, g2, label);
  add_hop (d, b, label);

  g_assert_cmpuint (send_and_wait (a, d), ==, 200);
  g_assert_cmpuint (inbox.count, ==, 1);
  g_assert_cmpstr (inbox.author, ==, jstp_key_get_id (alice));
  g_assert_cmpstr (inbox.body, ==, "{\"n\":7,\"text\":\"" SECRET "\"}");
  g_assert_cmpuint (inbox.flags, ==,
                    JSTP_SECURITY_SIGNED | JSTP_SECURITY_VERIFIED | JSTP_SECURITY_ENCRYPTED |
                    JSTP_SECURITY_DECRYPTED);

  /* Both gateways saw the dispatch, and never the plaintext. */
  {
    Peer *gateways[] = { g1, g2, b };

    for (guint g = 0; g < G_N_ELEMENTS (gateways); g++)
      {
        guint forwarded = 0;

        for (guint i = 0; i < gateways[g]->traffic->len; i++)
          {
            const char *text = g_ptr_array_index (gateways[g]->traffic, i);

            g_assert_null (strstr (text, SECRET));
            if (strstr (text, "\"jstp-sealed\"") && strstr (text, "\"signature\""))
              forwarded++;
          }
        g_test_message ("%s saw %u dispatches, %u sealed and signed",
                        jstp_engine_get_name (gateways[g]->engine), gateways[g]->traffic->len,
                        forwarded);
        g_assert_cmpuint (forwarded, >=, 1);
        sealed_seen += forwarded;
      }
  }
  g_assert_cmpuint (sealed_seen, >=, 3);

  /* The same dispatch again, through the same path: a replay. */
  g_assert_cmpuint (send_and_wait (a, d), ==, JSTP_STATUS_UNAUTHORIZED);
  g_assert_cmpuint (inbox.count, ==, 1);

  /* Unsigned and unsealed: 401 from Bob, through both gateways. */
  {
    g_autoptr(JstpDispatch) plain = letter ();

    add_hop (plain, g1, label);
    add_hop (plain, g2, label);
    add_hop (plain, b, label);
    g_assert_cmpuint (send_and_wait (a, plain), ==, JSTP_STATUS_UNAUTHORIZED);
    g_assert_cmpuint (inbox.count, ==, 1);
  }
  inbox_clear (&inbox);
}

typedef void (*Tamper) (JstpDispatch *d);

static void
tamper_resource (JstpDispatch *d)
{
  jstp_dispatch_set_resource_json (d, "[\"inbox\",\"bob\",0]", NULL);
}
static void
tamper_body (JstpDispatch *d)
{
  jstp_dispatch_set_body_json (d, "{\"text\":\"attack at dusk\",\"n\":7}", NULL);
}
static void
tamper_timestamp (JstpDispatch *d)
{
  jstp_dispatch_set_timestamp (d, jstp_dispatch_get_timestamp (d) - 1);
}
static void
tamper_referer (JstpDispatch *d)
{
  jstp_dispatch_set_referer_json (d, "{\"name\":\"mallory\"}", NULL);
}
static void
tamper_extension (JstpDispatch *d)
{
  jstp_dispatch_set_extension (d, "x-foo", "[1,2,3]", NULL);
}
static void
add_extension (JstpDispatch *d)
{
  jstp_dispatch_set_extension (d, "x-bar", "true", NULL);
}
static void tamper_signature (JstpDispatch *d)
{
  const char *header = jstp_dispatch_get_extension (d, "signature");
  const char *created = strstr (header, "\"created\":") + 10;
  char *end = NULL;
  guint64 when = g_ascii_strtoull (created, &end, 10);
  g_autofree char *changed = NULL;

  /* A millisecond later: still fresh, no longer what was signed. Never
   * earlier, which could fall before the receiving engine started, and
   * that is refused as possibly replayed (401) before the signature is
   * checked. */
  g_assert_true (when > 0 && end != NULL);
  changed = g_strdup_printf ("%.*s%" G_GUINT64_FORMAT "%s", (int) (created - header), header,
                             when + 1, end);
  jstp_dispatch_set_extension (d, "signature", changed, NULL);
}

/* Tampering with any covered header or the body on the way: 498. */
static void
test_tamper (gconstpointer data)
{
  const char *label = data;
  g_autoptr(Peer) a = peer_new ("a", NULL);
  g_autoptr(Peer) b = peer_new ("b", bob);
  Inbox inbox = { 0 };
  struct {
    const char *name;
    Tamper tamper;
  } cases[] = {
    { "resource", tamper_resource },
    { "body", tamper_body },
    { "timestamp", tamper_timestamp },
    { "referer", tamper_referer },
    { "extension", tamper_extension },
    { "added header", add_extension },
    { "signature parameters", tamper_signature },
  };

  /* Any method and resource: a changed resource must still reach the
   * security check, not a 404. */
  jstp_engine_bind (b->engine, "*", (const char *[]) { "inbox", "..." , NULL }, on_letter, &inbox,
                    NULL, NULL);

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(JstpDispatch) d = letter ();

      g_assert_true (jstp_security_sign (d, alice, NULL, NULL));
      cases[i].tamper (d);
      add_hop (d, b, label);
      g_test_message ("%s", cases[i].name);
      g_assert_cmpuint (send_and_wait (a, d), ==, JSTP_STATUS_BAD_SIGNATURE);
    }
  g_assert_cmpuint (inbox.count, ==, 0);

  /* The untouched one passes: the failures were the changes. */
  {
    g_autoptr(JstpDispatch) d = letter ();

    g_assert_true (jstp_security_sign (d, alice, NULL, NULL));
    add_hop (d, b, label);
    g_assert_cmpuint (send_and_wait (a, d), ==, 200);
    g_assert_cmpuint (inbox.count, ==, 1);
  }
  inbox_clear (&inbox);
}

/* A wrong recipient cannot decrypt: Carol's letter passes Bob unopened;
 * readdressed to Bob it does not open (499). */
static void
test_wrong_recipient (gconstpointer data)
{
  const char *label = data;
  g_autoptr(Peer) a = peer_new ("a", NULL);
  g_autoptr(Peer) b = peer_new ("b", bob);
  g_autoptr(JstpDispatch) d = letter ();
  g_autoptr(JstpDispatch) readdressed = NULL;
  Inbox inbox = { 0 };

  jstp_engine_bind (b->engine, "POST", (const char *[]) { "inbox", "bob", NULL }, on_letter,
                    &inbox, NULL, NULL);

  g_assert_true (jstp_security_encrypt (d, alice, carol, NULL));
  readdressed = jstp_dispatch_copy (d);
  g_assert_true (jstp_security_sign (d, alice, NULL, NULL));
  add_hop (d, b, label);
  g_assert_cmpuint (send_and_wait (a, d), ==, 200);
  g_assert_cmpuint (inbox.count, ==, 1);
  g_assert_cmpuint (inbox.flags, ==,
                    JSTP_SECURITY_SIGNED | JSTP_SECURITY_VERIFIED | JSTP_SECURITY_ENCRYPTED);
  g_assert_null (strstr (inbox.body, SECRET));
  g_assert_nonnull (strstr (inbox.body, "\"jstp-sealed\""));

  {
    g_autofree char *body = g_strdup (jstp_dispatch_get_body_json (readdressed));
    g_auto(GStrv) parts = g_strsplit (body, jstp_key_get_id (carol), 2);
    g_autofree char *changed = g_strjoinv (jstp_key_get_id (bob), parts);

    jstp_dispatch_set_body_json (readdressed, changed, NULL);
    g_assert_true (jstp_security_sign (readdressed, alice, NULL, NULL));
    add_hop (readdressed, b, label);
    g_assert_cmpuint (send_and_wait (a, readdressed), ==, JSTP_STATUS_CANNOT_DECRYPT);
    g_assert_cmpuint (inbox.count, ==, 1);
  }
  inbox_clear (&inbox);
}

/* Truncated and garbage envelopes: 499 each, and the engine goes on. */
static void
test_garbage_envelopes (gconstpointer data)
{
  const char *label = data;
  g_autoptr(Peer) a = peer_new ("a", NULL);
  g_autoptr(Peer) b = peer_new ("b", bob);
  g_autoptr(JstpDispatch) good = letter ();
  g_autofree char *sealed_body = NULL;
  const char *ct;
  gsize ct_chars;
  Inbox inbox = { 0 };
  g_autoptr(GPtrArray) bodies = g_ptr_array_new_with_free_func (g_free);
  const char *head = "{\"jstp-sealed\":{\"alg\":\"x25519-xsalsa20poly1305-sealedbox\",\"ct\":\"";

  jstp_engine_bind (b->engine, "POST", (const char *[]) { "inbox", "bob", NULL }, on_letter,
                    &inbox, NULL, NULL);
  g_assert_true (jstp_security_encrypt (good, alice, bob, NULL));
  sealed_body = g_strdup (jstp_dispatch_get_body_json (good));
  ct = strstr (sealed_body, "\"ct\":\"") + 6;
  ct_chars = strchr (ct, '"') - ct;

  /* Cut by 4 characters (3 bytes), to 64 characters (48 bytes), empty. */
  g_ptr_array_add (bodies, g_strdup_printf ("%s%.*s\",\"to\":\"%s\",\"v\":1}}", head,
                                            (int) ct_chars - 4, ct, jstp_key_get_id (bob)));
  g_ptr_array_add (bodies, g_strdup_printf ("%s%.*s\",\"to\":\"%s\",\"v\":1}}", head, 64, ct,
                                            jstp_key_get_id (bob)));
  g_ptr_array_add (bodies, g_strdup_printf ("%s\",\"to\":\"%s\",\"v\":1}}", head,
                                            jstp_key_get_id (bob)));
  {
    guint8 junk[48 + 256];
    g_autofree char *text = NULL;

    randombytes_buf (junk, sizeof junk);
    text = jstp_base64url_encode (junk, sizeof junk);
    g_ptr_array_add (bodies, g_strdup_printf ("%s%s\",\"to\":\"%s\",\"v\":1}}", head, text,
                                              jstp_key_get_id (bob)));
  }
  {
    g_autofree char *flipped = g_strdup (sealed_body);
    char *p = strstr (flipped, "\"ct\":\"") + 6 + ct_chars / 2;

    *p = *p == 'A' ? 'B' : 'A';
    g_ptr_array_add (bodies, g_steal_pointer (&flipped));
  }

  for (guint i = 0; i < bodies->len; i++)
    {
      g_autoptr(JstpDispatch) d = letter ();

      g_assert_true (jstp_dispatch_set_body_json (d, g_ptr_array_index (bodies, i), NULL));
      g_assert_true (jstp_security_sign (d, alice, NULL, NULL));
      add_hop (d, b, label);
      g_assert_cmpuint (send_and_wait (a, d), ==, JSTP_STATUS_CANNOT_DECRYPT);
    }
  g_assert_cmpuint (inbox.count, ==, 0);

  add_hop (good, b, label);
  g_assert_cmpuint (send_and_wait (a, good), ==, 200);
  g_assert_cmpuint (inbox.count, ==, 1);
  g_assert_cmpstr (inbox.body, ==, "{\"n\":7,\"text\":\"" SECRET "\"}");
  inbox_clear (&inbox);
}

int
main (int    argc,
      char **argv)
{
  const char *labels[] = { "tcp", "ws" };
  int result;

  g_test_init (&argc, &argv, NULL);

  alice = jstp_key_generate ();
  bob = jstp_key_generate ();
  carol = jstp_key_generate ();

  for (guint i = 0; i < G_N_ELEMENTS (labels); i++)
    {
      g_autofree char *p1 = g_strdup_printf ("/security-network/through-gateways/%s", labels[i]);
      g_autofree char *p2 = g_strdup_printf ("/security-network/tamper/%s", labels[i]);
      g_autofree char *p3 = g_strdup_printf ("/security-network/wrong-recipient/%s", labels[i]);
      g_autofree char *p4 = g_strdup_printf ("/security-network/garbage-envelopes/%s", labels[i]);

      g_test_add_data_func (p1, labels[i], test_through_gateways);
      g_test_add_data_func (p2, labels[i], test_tamper);
      g_test_add_data_func (p3, labels[i], test_wrong_recipient);
      g_test_add_data_func (p4, labels[i], test_garbage_envelopes);
    }

  result = g_test_run ();
  g_object_unref (alice);
  g_object_unref (bob);
  g_object_unref (carol);
  return result;
}
