/* SPDX-License-Identifier: GPL-2.0 */
/*
 * TLS for stream connections (transport/ only): one server SSL_CTX per
 * process (swapped by a reload) and one client SSL_CTX, one SSL per
 * connection, living with it in tcp.c. Every call is
 * non-blocking; what would block says so, as recv() and send() do.
 */
#ifndef KSIP_TRANSPORT_TLS_H
#define KSIP_TRANSPORT_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "base/config.h"

typedef struct ssl_st SSL;
typedef struct ssl_ctx_st SSL_CTX;

/*
 * The context for CFG's TLS listeners: its certificate and key, or a
 * self-signed pair beside the database (tls_cert.c); the certificate's
 * SHA-256 fingerprint is logged. The certificate file's path into PATH.
 * NULL with a logged error.
 */
SSL_CTX *tls_ctx_new(const struct ksip_config *cfg, char *path, size_t len);
/* CTX's certificate: subject, expiry (UTC), SHA-256 fingerprint (AA:BB:...). */
void tls_ctx_describe(SSL_CTX *ctx, char *subject, size_t slen, char *not_after, size_t nlen,
		      char *fingerprint, size_t flen);
void tls_ctx_free(SSL_CTX *ctx);

/*
 * The context for connections ksipd opens: CFG's versions; the peer's
 * certificate chain verified against tls_ca_file when it is set. NULL with
 * a logged error.
 */
SSL_CTX *tls_client_ctx_new(const struct ksip_config *cfg);

/* The server side of a connection accepted on FD; NULL when out of memory. */
SSL *tls_conn_new(SSL_CTX *ctx, int fd);
/* The client side of a connection ksipd opened on FD. */
SSL *tls_conn_new_client(SSL_CTX *ctx, int fd);
void tls_conn_free(SSL *ssl);

enum tls_step {
	TLS_STEP_DONE,		/* the handshake is over */
	TLS_STEP_WANT_READ,	/* call again when the socket is readable */
	TLS_STEP_WANT_WRITE,	/* call again when it is writable */
	TLS_STEP_FAILED,	/* close the connection */
};

enum tls_step tls_handshake(SSL *ssl);
/*
 * Like recv() and send(): bytes moved, 0 at the peer's close (read), -1
 * with errno EAGAIN when it would block (*WANT_WRITE set when it waits for
 * the socket to be writable), or another errno when the connection failed.
 */
ssize_t tls_read(SSL *ssl, void *buf, size_t len, bool *want_write);
ssize_t tls_write(SSL *ssl, const void *buf, size_t len, bool *want_write);
/* Decrypted bytes OpenSSL holds that the socket will not announce again. */
bool tls_pending(SSL *ssl);

/*
 * A self-signed pair for DATABASE's directory (tls_cert.c): the paths into
 * CERT_PATH and KEY_PATH, made unless both exist. -1 with a logged error.
 */
int tls_self_signed(const char *database, char *cert_path, char *key_path, size_t len);

#endif
