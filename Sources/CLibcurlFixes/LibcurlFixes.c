// Two fixes to how corelibs Foundation's URLSession uses libcurl, made at link time.
//
// The executables link with `--wrap=` curl_url, curl_url_cleanup, curl_free and curl_multi_init
// (Package.swift), so those calls from FoundationNetworking arrive here first. Nothing else in the
// program calls them: the proxy's own code never touches libcurl.
//
// 1. The URL handle leaked on every request. CFURLSessionCurlHostIsEqual (called from
//    _EasyHandle.set(url:) for every transfer) parses the URL with curl_url() and curl_url_set(),
//    then releases the handle with curl_free() instead of curl_url_cleanup(): the handle goes, the
//    copies of the URL's parts inside it stay, ~80 bytes a request, forever. (When curl_url_set()
//    fails, the handle is not released at all.) Here curl_url() notes the handle it made on this
//    thread; curl_free() of exactly that handle becomes curl_url_cleanup(). A handle still noted
//    when the next curl_url() comes was abandoned (the failure path) and is cleaned up then. Every
//    other curl_free() is the real one. A Foundation that fixes this and calls curl_url_cleanup()
//    itself un-notes the handle first, so nothing is freed twice.
//
// 2. Upstream connections closed under load. A multi handle keeps at most CURLMOPT_MAXCONNECTS
//    idle connections, by default four times the transfers running at that moment; URLSession
//    cannot set it. When 16 requests at once fall to 2, the rest of the pool is closed, and the
//    next burst opens new connections (a TLS handshake each, against the real API): about one
//    upstream connection per seven requests at 16 concurrent clients. Each multi handle made here
//    keeps up to MAXIMUM_IDLE_CONNECTIONS instead; libcurl still closes any idle for 118 s.
#include <curl/curl.h>
#include <stddef.h>

enum { MAXIMUM_IDLE_CONNECTIONS = 256 };

CURLU *__real_curl_url(void);
void __real_curl_url_cleanup(CURLU *handle);
void __real_curl_free(void *pointer);
CURLM *__real_curl_multi_init(void);
CURLU *__wrap_curl_url(void);
void __wrap_curl_url_cleanup(CURLU *handle);
void __wrap_curl_free(void *pointer);
CURLM *__wrap_curl_multi_init(void);

static _Thread_local CURLU *noted;

CURLU *__wrap_curl_url(void) {
    if (noted != NULL) {
        __real_curl_url_cleanup(noted);
    }
    noted = __real_curl_url();
    return noted;
}

void __wrap_curl_url_cleanup(CURLU *handle) {
    if (handle != NULL && handle == noted) {
        noted = NULL;
    }
    __real_curl_url_cleanup(handle);
}

void __wrap_curl_free(void *pointer) {
    if (pointer != NULL && pointer == (void *)noted) {
        noted = NULL;
        __real_curl_url_cleanup((CURLU *)pointer);
        return;
    }
    __real_curl_free(pointer);
}

CURLM *__wrap_curl_multi_init(void) {
    CURLM *multi = __real_curl_multi_init();
    if (multi != NULL) {
        curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, (long)MAXIMUM_IDLE_CONNECTIONS);
    }
    return multi;
}
