/* Status codes: the one table from parse errors to the status a server
 * answers with, and the standard reason phrases (RFC 9110 §15). */
#include "http_internal.h"

int em_http_status_for_error(int err) {
    switch (err) {
    case EM_EPARSE:
    case EM_EBADEOL:
    case EM_EBADMETHOD:
    case EM_EBADTARGET:
    case EM_EBADHEADER:
    case EM_EOBSFOLD:
    case EM_EBADHOST:
    case EM_EBADCL:
    case EM_EBADTE:
    case EM_ECLTE:
    case EM_EBADCHUNK:
        return 400; /* Bad Request */
    case EM_EBODYTOOLARGE:
    case EM_EEXTTOOLONG:
        return 413; /* Content Too Large */
    case EM_EURITOOLONG:
        return 414; /* URI Too Long */
    case EM_EHDRTOOLARGE:
    case EM_ETOOMANYHDRS:
        return 431; /* Request Header Fields Too Large */
    case EM_ENOTIMPL:
        return 501; /* Not Implemented: a transfer coding we lack (RFC 9112 §6.1) */
    case EM_EBADVERSION:
        return 505; /* HTTP Version Not Supported */
    default:
        return err >= 0 || err == EM_EAGAIN ? 0 : 500;
    }
}

const char *em_http_status_reason(int status) {
    switch (status) {
    case 100:
        return "Continue";
    case 101:
        return "Switching Protocols";
    case 103:
        return "Early Hints";
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 202:
        return "Accepted";
    case 203:
        return "Non-Authoritative Information";
    case 204:
        return "No Content";
    case 205:
        return "Reset Content";
    case 206:
        return "Partial Content";
    case 300:
        return "Multiple Choices";
    case 301:
        return "Moved Permanently";
    case 302:
        return "Found";
    case 303:
        return "See Other";
    case 304:
        return "Not Modified";
    case 305:
        return "Use Proxy";
    case 307:
        return "Temporary Redirect";
    case 308:
        return "Permanent Redirect";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 402:
        return "Payment Required";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 406:
        return "Not Acceptable";
    case 407:
        return "Proxy Authentication Required";
    case 408:
        return "Request Timeout";
    case 409:
        return "Conflict";
    case 410:
        return "Gone";
    case 411:
        return "Length Required";
    case 412:
        return "Precondition Failed";
    case 413:
        return "Content Too Large";
    case 414:
        return "URI Too Long";
    case 415:
        return "Unsupported Media Type";
    case 416:
        return "Range Not Satisfiable";
    case 417:
        return "Expectation Failed";
    case 421:
        return "Misdirected Request";
    case 422:
        return "Unprocessable Content";
    case 426:
        return "Upgrade Required";
    case 428:
        return "Precondition Required";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    case 505:
        return "HTTP Version Not Supported";
    default:
        return "";
    }
}
