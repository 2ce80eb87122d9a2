/** @file
 * ember ws, part five: topics. Server-side connections subscribe to
 * names; a message published to a name goes to every subscriber, on
 * whichever loop (worker) it lives, and may be published from any thread.
 * The message is framed once (an em_ws_frame_buf) however many get it.
 * Included by "ember/ws.h".
 *
 *   static em_ws_hub *hub;                        // em_ws_hub_new at start
 *   static void on_open(em_ws *ws) { em_ws_subscribe(hub, ws, "lobby"); }
 *   static void on_message(em_ws *ws, int op, em_slice m) {
 *       em_ws_publish(hub, "lobby", op, m);       // everyone, every worker
 *   }
 *
 * A connection leaves every topic by itself when it closes.
 */
#ifndef EMBER_WS_HUB_H
#define EMBER_WS_HUB_H

#include "ember/ws/conn.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A set of topics shared by any number of loops (opaque). */
typedef struct em_ws_hub em_ws_hub;

/** Longest topic name in bytes. */
#define EM_WS_TOPIC_MAX 255

/** Make a hub. Returns 0 or EM_ENOMEM. Any thread. */
EM_API EM_NODISCARD int em_ws_hub_new(em_ws_hub **out);
/** Free h once no connection is subscribed any more (all closed or
 * unsubscribed) and no em_ws_publish is running; messages already posted
 * to loops still arrive. Any thread. */
EM_API void em_ws_hub_free(em_ws_hub *h);

/** Subscribe ws (server side, open) to topic (1..EM_WS_TOPIC_MAX bytes,
 * copied). Subscribing twice is one subscription. From ws's loop thread
 * (e.g. in on_open or on_message). Returns 0, EM_EINVAL (bad topic, a
 * client-side ws), EM_ECLOSED (ws closing) or EM_ENOMEM. */
EM_API EM_NODISCARD int em_ws_subscribe(em_ws_hub *h, em_ws *ws, const char *topic);
/** Leave topic. From ws's loop thread. Returns 0 or EM_ENOTFOUND (ws was
 * not subscribed). */
EM_API int em_ws_unsubscribe(em_ws_hub *h, em_ws *ws, const char *topic);
/** Subscribers of topic on all loops now (a snapshot, for tests and
 * metrics). Any thread. */
EM_API size_t em_ws_hub_subscribers(em_ws_hub *h, const char *topic);

/** Send a whole message to every subscriber of topic, from any thread:
 * framed once, then posted to each loop that has subscribers and sent
 * there, in the order of the calls of each thread. A subscriber whose
 * queue is past its cap (EM_ENOBUFS) misses the message and is closed
 * with 1008, as a slow reader of a broadcast (its problem, not the
 * publisher's). Returns the number of loops the message was posted to (0:
 * nobody is subscribed), EM_EINVAL, EM_EPARSE (TEXT not UTF-8) or
 * EM_ENOMEM. */
EM_API int em_ws_publish(em_ws_hub *h, const char *topic, int opcode, em_slice data);

#ifdef __cplusplus
}
#endif
#endif
