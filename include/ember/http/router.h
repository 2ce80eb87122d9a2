/** @file
 * ember http, part two: the router (method + path patterns to targets).
 * Included by "ember/http.h". */
#ifndef EMBER_HTTP_ROUTER_H
#define EMBER_HTTP_ROUTER_H

#include "ember/http/parse.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ======================================================================== */
/* ---- router: method + path patterns to targets -------------------------- */
/* ======================================================================== */

/* ---- constants -------------------------------------------------------- */

/** Most captures (":name" and "*name") one pattern may hold; a match never
 * returns more. Adding a pattern with more fails with EM_ELIMIT. */
#define EM_HTTP_ROUTER_MAX_PARAMS 8
/** Most segments in one pattern (EM_ELIMIT past it). Bounds the trie depth,
 * and with it the matcher's recursion. Paths may have any number. */
#define EM_HTTP_ROUTER_MAX_SEGMENTS 128
/** Longest capture name in bytes (EM_ELIMIT past it). */
#define EM_HTTP_ROUTER_MAX_NAME 255
/** One more than the largest em_http_method (EM_HTTP_PATCH), which
 * router.c checks at compile time. */
#define EM_HTTP_ROUTER_NMETHODS 10
/** Room for the longest Allow value em_http_router_allow_format() writes
 * (all nine methods) plus a NUL the caller may add. */
#define EM_HTTP_ROUTER_ALLOW_MAX 64

/* ---- types ------------------------------------------------------------ */

/** Methods are the parser's em_http_method (in "ember/http.h"); each is
 * routed on its own and masks use EM_HTTP_METHOD_BIT(m). Values run from 0
 * (EM_HTTP_METHOD_OTHER, an unrecognised token, never routed) to below
 * EM_HTTP_ROUTER_NMETHODS. */
#define EM_HTTP_METHOD_BIT(m) (1u << (unsigned)(m))

/** The outcome of em_http_router_match(). */
typedef enum em_http_route_result {
    EM_HTTP_ROUTE_FOUND,              /**< target and params are set */
    EM_HTTP_ROUTE_NOT_FOUND,          /**< no route has this path: 404 */
    EM_HTTP_ROUTE_METHOD_NOT_ALLOWED, /**< path known, method not: 405 + Allow */
} em_http_route_result;

/** One capture. `name` points into the router (valid until the next
 * em_http_router_add() or em_http_router_free()); `value` points into the
 * path given to em_http_router_match() (valid as long as those bytes). */
typedef struct em_http_route_param {
    em_slice name;  /**< the capture's name, without ':' or '*' */
    em_slice value; /**< the path bytes it matched, raw (not decoded) */
} em_http_route_param;

/** Filled by em_http_router_match(); caller-owned, usually on the stack. */
typedef struct em_http_route_match {
    void *target;     /**< FOUND: the route's target; otherwise NULL */
    unsigned allowed; /**< METHOD_NOT_ALLOWED: EM_HTTP_METHOD_BIT mask of the
                         methods the path accepts (HEAD whenever GET);
                         otherwise 0 */
    unsigned nparams; /**< FOUND: captures in pattern order; otherwise 0 */
    em_http_route_param params[EM_HTTP_ROUTER_MAX_PARAMS]; /**< the first nparams are set */
} em_http_route_match;

struct em__http_router_node; /* private to http/router.c */
struct em__http_router_slot;
/** A target allocated for the router and freed with it; the header of a
 * larger block (private to http). */
struct em__http_router_owned {
    struct em__http_router_owned *next;
};

/** A router. A complete type so it can be embedded; all fields are private.
 * A zero-filled struct is an empty router, as is one after
 * em_http_router_init(). Allocation happens only in em_http_router_add(). */
typedef struct em_http_router {
    struct em__http_router_node *_nodes; /**< _nodes[0] is the root, after the first '/' */
    uint32_t _nnodes, _nodes_cap;
    struct em__http_router_slot *_slots; /**< routes ending at one node, per method */
    uint32_t _nslots, _slots_cap;
    char *_bytes; /**< literal segment text and capture names */
    size_t _nbytes, _bytes_cap;
    struct em__http_router_owned *_owned; /**< targets the router frees (em_http_route) */
} em_http_router;

/* ---- functions -------------------------------------------------------- */

/** Make r an empty router. Allocates nothing; cannot fail. */
EM_API void em_http_router_init(em_http_router *r);

/** Free everything r allocated and leave it empty (reusable after). Names
 * handed out by earlier matches become invalid. Targets are not touched:
 * they belong to the caller. */
EM_API void em_http_router_free(em_http_router *r);

/** Route `method` + `pattern` to `target` (any pointer, even NULL). The
 * pattern bytes are copied; the caller may free them after the call.
 * Returns 0, or:
 *   EM_EINVAL  EM_HTTP_METHOD_OTHER, a value outside the enum, or a bad
 *              pattern: empty, no leading '/', empty or invalid capture
 *              name, a name twice, '*' not last, a forbidden byte;
 *   EM_EEXIST  this method already has a route of the same shape (patterns
 *              equal once capture names are ignored: "/u/:id" = "/u/:uid");
 *              the existing route is kept;
 *   EM_ELIMIT  more than EM_HTTP_ROUTER_MAX_PARAMS captures, more than
 *              EM_HTTP_ROUTER_MAX_SEGMENTS segments, or a name too long;
 *   EM_ENOMEM  out of memory.
 * On error no route is added and existing routes match as before. Capture
 * names belong to each route, so "GET /u/:id" and "GET /u/:uid/posts" may
 * name the same position differently. Invalidates the names of earlier
 * matches. Not safe concurrently with any other call on r. */
EM_API EM_NODISCARD int em_http_router_add(em_http_router *r, em_http_method method,
                                           em_slice pattern, void *target);

/** Match a request path (the request target without "?query", not decoded)
 * for `method` and fill *m. Returns:
 *   FOUND               the best route for method (see the priority rules at
 *                       the top of this header); HEAD uses the GET route of
 *                       the same pattern when the pattern has no HEAD route;
 *   METHOD_NOT_ALLOWED  some route matches the path but none for method;
 *                       m->allowed is the union over every matching route;
 *   NOT_FOUND           nothing matches (also for "" and paths without a
 *                       leading '/').
 * EM_HTTP_METHOD_OTHER (an unknown token) or a value outside the enum
 * never matches, so it yields 405 or 404 here (em_http_router_handler
 * answers 501 for OTHER before matching). Allocates nothing. Each trie
 * node is visited at most once and looks at one path segment (a binary
 * search among its literal children), so a match is one pass over the path
 * plus any backtracking, which the trie's size bounds. Reads r only: safe
 * from many threads at once while nobody adds routes. */
EM_API em_http_route_result em_http_router_match(const em_http_router *r, em_http_method method,
                                                 em_slice path, em_http_route_match *m);

/** Find the capture called `name` in m; on success store it in *value and
 * return true, else return false and leave *value alone. */
EM_API bool em_http_route_match_param(const em_http_route_match *m, em_slice name, em_slice *value);

/** The EM_HTTP_METHOD_BIT mask of every method some route of r takes
 * (HEAD whenever GET): what the server as a whole allows, for OPTIONS *
 * (RFC 9110 §9.3.7). */
EM_API unsigned em_http_router_methods(const em_http_router *r);

/** Write the Allow header value for `allowed` (an EM_HTTP_METHOD_BIT mask)
 * to buf: method names in enum order joined by ", " ("GET, HEAD, POST"),
 * with no NUL. Bits beyond the enum are ignored; an empty mask writes
 * nothing. Returns the length, or EM_ENOBUFS if cap is too small
 * (EM_HTTP_ROUTER_ALLOW_MAX always suffices). */
EM_API ssize_t em_http_router_allow_format(unsigned allowed, char *buf, size_t cap);

#ifdef __cplusplus
}
#endif
#endif
