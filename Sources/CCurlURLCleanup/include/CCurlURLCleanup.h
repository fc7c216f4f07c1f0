// Nothing to call: this target only replaces, at link time, two libcurl calls that corelibs
// Foundation makes (see CurlURLCleanup.c). Swift never imports it.
