// SHA256_Init and friends hash without OpenSSL 3's provider fetch, which costs a CGI run ~1 ms.
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/sha.h>
