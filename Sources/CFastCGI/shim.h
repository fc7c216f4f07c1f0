#include <fcgiapp.h>
/* The FastCGI server's acceptors wait with epoll (EPOLLEXCLUSIVE), which Glibc's module leaves out. */
#include <sys/epoll.h>
