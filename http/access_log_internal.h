/* The access log (access_log.c): common log format lines built on the
 * loop and written by a background thread. Knows nothing of exchanges:
 * callers hand it the fields of a finished request. Not installed. */
#ifndef EMBER_HTTP_ACCESS_LOG_INTERNAL_H
#define EMBER_HTTP_ACCESS_LOG_INTERNAL_H

#include "ember/http.h"

/* Start the writer thread for fd. Returns 0 or em_err. */
int em__http_log_open(em_http_server *srv, int fd);
/* Append the line for a finished request. */
void em__http_log_request(em_http_server *srv, const em_sockaddr *peer, const em_http_request *req,
                          int status, uint64_t sent);
/* Hand what is buffered to the writer (once a second, and at close). */
void em__http_log_flush(em_http_server *srv);
/* Flush, stop and join the writer. */
void em__http_log_close(em_http_server *srv);

#endif
