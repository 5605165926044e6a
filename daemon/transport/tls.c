// SPDX-License-Identifier: GPL-2.0
/*
 * TLS over tcp.c's connections, with OpenSSL 3: the contexts (the server's:
 * certificate, versions, ciphers, clients' certificates; the client's, for
 * connections ksipd opens) and the non-blocking steps of a connection.
 * Nothing here waits: a step that would block says which way, and tcp.c
 * asks epoll.
 *
 * What the context allows (docs/security.md, "TLS"): TLS 1.2 at least
 * (tls_min_version; 1.0 and 1.1 never, RFC 8996), no renegotiation (a
 * client that asks again makes the server work again: a CPU flood), no
 * compression (CRIME), the system's cipher policy unless tls_ciphers says
 * otherwise. OpenSSL's buffers are released while a connection is idle:
 * an idle phone costs a socket and a few hundred bytes, not 2 x 16 KiB.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "base/log.h"
#include "transport/tls.h"

/* The last OpenSSL error as text (and the queue emptied), for a log line. */
static const char *ssl_error_text(char *buf, size_t len)
{
	unsigned long e = ERR_get_error();

	ERR_clear_error();
	if (!e)
		return "unknown error";
	ERR_error_string_n(e, buf, len);
	return buf;
}

void tls_ctx_describe(SSL_CTX *ctx, char *subject, size_t slen, char *not_after, size_t nlen,
		      char *fingerprint, size_t flen)
{
	X509 *x = SSL_CTX_get0_certificate(ctx);
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	struct tm tm;

	snprintf(subject, slen, "?");
	snprintf(not_after, nlen, "?");
	snprintf(fingerprint, flen, "?");
	if (!x)
		return;
	X509_NAME_oneline(X509_get_subject_name(x), subject, (int)slen);
	if (ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm))
		strftime(not_after, nlen, "%Y-%m-%d %H:%M:%S UTC", &tm);
	if (!X509_digest(x, EVP_sha256(), md, &n))
		return;
	fingerprint[0] = 0;
	for (unsigned int i = 0; i < n && (size_t)i * 3 + 3 <= flen; i++)
		snprintf(fingerprint + i * 3, flen - i * 3, "%02X%s", md[i], i + 1 < n ? ":" : "");
}

/* Log what CTX presents: the fingerprint is what a phone pins, what `openssl x509 -fingerprint` shows. */
static void log_certificate(SSL_CTX *ctx, const char *path)
{
	char subject[256], not_after[64], fp[EVP_MAX_MD_SIZE * 3 + 1];

	tls_ctx_describe(ctx, subject, sizeof(subject), not_after, sizeof(not_after), fp, sizeof(fp));
	log_info("tls: certificate %s (%s, expires %s), SHA-256 fingerprint %s", path, subject,
		 not_after, fp);
}

SSL_CTX *tls_ctx_new(const struct ksip_config *cfg, char *path, size_t len)
{
	char cert[512], key[512], err[256];
	SSL_CTX *ctx;

	if (cfg->tls_certificate[0]) {
		snprintf(cert, sizeof(cert), "%s", cfg->tls_certificate);
		snprintf(key, sizeof(key), "%s", cfg->tls_private_key);
	} else if (tls_self_signed(cfg->database, cert, key, sizeof(cert))) {
		return NULL;
	}
	ctx = SSL_CTX_new(TLS_server_method());
	if (!ctx) {
		log_err("tls: %s", ssl_error_text(err, sizeof(err)));
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, cfg->tls_min_version == KSIP_TLS_1_3 ? TLS1_3_VERSION :
										  TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
				 SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
			      SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_session_id_context(ctx, (const unsigned char *)"ksip", 4);
	if (cfg->tls_ciphers[0] && !SSL_CTX_set_cipher_list(ctx, cfg->tls_ciphers)) {
		log_err("tls: tls_ciphers '%s': %s", cfg->tls_ciphers, ssl_error_text(err, sizeof(err)));
		goto fail;
	}
	if (cfg->tls_verify_client != KSIP_TLS_VERIFY_NO) {
		/*
		 * Clients' certificates against tls_ca_file only (not the system's
		 * store: a phone's certificate is the operator's to vouch for).
		 * optional: a client that sends none is served, one that sends a
		 * bad one is not.
		 */
		STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(cfg->tls_ca_file);

		if (!names || SSL_CTX_load_verify_locations(ctx, cfg->tls_ca_file, NULL) != 1) {
			sk_X509_NAME_pop_free(names, X509_NAME_free);
			log_err("tls: tls_ca_file %s: %s", cfg->tls_ca_file,
				ssl_error_text(err, sizeof(err)));
			goto fail;
		}
		SSL_CTX_set_client_CA_list(ctx, names);
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER |
				   (cfg->tls_verify_client == KSIP_TLS_VERIFY_YES ?
				    SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0), NULL);
		SSL_CTX_set_verify_depth(ctx, 4);
	}
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		log_err("tls: certificate %s: %s", cert, ssl_error_text(err, sizeof(err)));
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		log_err("tls: private key %s: %s", key, ssl_error_text(err, sizeof(err)));
		goto fail;
	}
	log_certificate(ctx, cert);
	snprintf(path, len, "%s", cert);
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

SSL_CTX *tls_client_ctx_new(const struct ksip_config *cfg)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	char err[256];

	if (!ctx) {
		log_err("tls: %s", ssl_error_text(err, sizeof(err)));
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, cfg->tls_min_version == KSIP_TLS_1_3 ? TLS1_3_VERSION :
										  TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
			      SSL_MODE_RELEASE_BUFFERS);
	if (cfg->tls_ciphers[0] && !SSL_CTX_set_cipher_list(ctx, cfg->tls_ciphers)) {
		log_err("tls: tls_ciphers '%s': %s", cfg->tls_ciphers, ssl_error_text(err, sizeof(err)));
		SSL_CTX_free(ctx);
		return NULL;
	}
	if (cfg->tls_ca_file[0]) {
		if (SSL_CTX_load_verify_locations(ctx, cfg->tls_ca_file, NULL) != 1) {
			log_err("tls: tls_ca_file %s: %s", cfg->tls_ca_file,
				ssl_error_text(err, sizeof(err)));
			SSL_CTX_free(ctx);
			return NULL;
		}
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
		SSL_CTX_set_verify_depth(ctx, 4);
	}
	return ctx;
}

void tls_ctx_free(SSL_CTX *ctx)
{
	SSL_CTX_free(ctx);
}

SSL *tls_conn_new(SSL_CTX *ctx, int fd)
{
	SSL *ssl = SSL_new(ctx);

	if (!ssl)
		return NULL;
	if (SSL_set_fd(ssl, fd) != 1) {
		SSL_free(ssl);
		return NULL;
	}
	SSL_set_accept_state(ssl);
	return ssl;
}

SSL *tls_conn_new_client(SSL_CTX *ctx, int fd)
{
	SSL *ssl = tls_conn_new(ctx, fd);

	if (ssl)
		SSL_set_connect_state(ssl);
	return ssl;
}

void tls_conn_free(SSL *ssl)
{
	if (!ssl)
		return;
	/* One close_notify if the socket takes it now; a peer gone or slow gets nothing more. */
	if (SSL_is_init_finished(ssl))
		SSL_shutdown(ssl);
	ERR_clear_error();
	SSL_free(ssl);
}

enum tls_step tls_handshake(SSL *ssl)
{
	int r;

	ERR_clear_error();
	r = SSL_do_handshake(ssl);
	if (r == 1)
		return TLS_STEP_DONE;
	switch (SSL_get_error(ssl, r)) {
	case SSL_ERROR_WANT_READ:
		return TLS_STEP_WANT_READ;
	case SSL_ERROR_WANT_WRITE:
		return TLS_STEP_WANT_WRITE;
	default:
		ERR_clear_error();
		return TLS_STEP_FAILED;
	}
}

/* After SSL_read() or SSL_write() returned R <= 0: errno as recv() or send() would set it. */
static ssize_t io_error(SSL *ssl, int r, bool *want_write)
{
	int e = SSL_get_error(ssl, r);

	ERR_clear_error();
	switch (e) {
	case SSL_ERROR_WANT_WRITE:
		*want_write = true;
		/* fall through */
	case SSL_ERROR_WANT_READ:
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_ZERO_RETURN:
		return 0;	/* close_notify */
	case SSL_ERROR_SYSCALL:
		errno = ECONNRESET;
		return -1;
	default:
		errno = EPROTO;	/* a bad record, a renegotiation refused: the connection is done */
		return -1;
	}
}

ssize_t tls_read(SSL *ssl, void *buf, size_t len, bool *want_write)
{
	int n = len > 0x40000000 ? 0x40000000 : (int)len;
	int r;

	ERR_clear_error();
	r = SSL_read(ssl, buf, n);
	return r > 0 ? r : io_error(ssl, r, want_write);
}

ssize_t tls_write(SSL *ssl, const void *buf, size_t len, bool *want_write)
{
	int n = len > 0x40000000 ? 0x40000000 : (int)len;
	int r;

	ERR_clear_error();
	r = SSL_write(ssl, buf, n);
	return r > 0 ? r : io_error(ssl, r, want_write);
}

bool tls_pending(SSL *ssl)
{
	return SSL_pending(ssl) > 0;
}
