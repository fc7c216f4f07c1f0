// Nothing to call: this target only replaces, at link time, libcurl calls that corelibs
// Foundation makes (see LibcurlFixes.c). Swift never imports it.
