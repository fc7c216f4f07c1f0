// Frees the URL handle that corelibs Foundation leaks on every URLSession request.
//
// FoundationNetworking's CFURLSessionCurlHostIsEqual (called from _EasyHandle.set(url:) for every
// transfer) parses the URL with curl_url() and curl_url_set(), then releases the handle with
// curl_free() instead of curl_url_cleanup(): the handle goes, the copies of the URL's parts inside
// it stay, ~80 bytes a request, forever. (When curl_url_set() fails, the handle is not released at
// all.) Nothing else in the program calls curl_url().
//
// The executables link with `--wrap=curl_url --wrap=curl_free` (Package.swift), so those calls
// arrive here. curl_url() notes the handle it made on this thread; curl_free() of exactly that
// handle becomes curl_url_cleanup(). A handle still noted when the next curl_url() comes was
// abandoned (the failure path) and is cleaned up then. Every other curl_free() is the real one.
#include <curl/curl.h>
#include <stddef.h>

CURLU *__real_curl_url(void);
void __real_curl_free(void *pointer);
CURLU *__wrap_curl_url(void);
void __wrap_curl_free(void *pointer);

static _Thread_local CURLU *noted;

CURLU *__wrap_curl_url(void) {
    if (noted != NULL) {
        curl_url_cleanup(noted);
    }
    noted = __real_curl_url();
    return noted;
}

void __wrap_curl_free(void *pointer) {
    if (pointer != NULL && pointer == (void *)noted) {
        noted = NULL;
        curl_url_cleanup((CURLU *)pointer);
        return;
    }
    __real_curl_free(pointer);
}
