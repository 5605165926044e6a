// SPDX-License-Identifier: GPL-2.0
/*
 * The certificate a TLS listener uses when none is configured: made once,
 * self-signed (an EC P-256 key, the host's name in subjectAltName), kept
 * beside the database with mode 0600 and reused on the next start, so the
 * fingerprint phones pinned stays the same. The defaults stay a working
 * server; an operator with a real certificate sets tls_certificate.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "base/log.h"
#include "transport/tls.h"

#define SELF_SIGNED_DAYS 3650		/* nobody renews a self-signed certificate */
#define SELF_SIGNED_CERT "tls-selfsigned.crt"
#define SELF_SIGNED_KEY "tls-selfsigned.key"

/* Write to PATH, created 0600 (exclusive: a file that appeared meanwhile is not ours). */
static FILE *open_private(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	FILE *f;

	if (fd < 0)
		return NULL;
	f = fdopen(fd, "w");
	if (!f)
		close(fd);
	return f;
}

static X509 *make_cert(EVP_PKEY *key, const char *host)
{
	X509 *x = X509_new();
	X509_NAME *name;
	X509_EXTENSION *ext;
	X509V3_CTX v3;
	char san[300];
	unsigned char serial[16];
	BIGNUM *bn = NULL;

	if (!x)
		return NULL;
	snprintf(san, sizeof(san), "DNS:%s", host);
	/* A random serial: two certificates of ours never share issuer and serial. */
	if (RAND_bytes_ex(NULL, serial, sizeof(serial), 0) != 1)
		goto fail;
	serial[0] &= 0x7f;
	bn = BN_bin2bn(serial, sizeof(serial), NULL);
	if (!bn || !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) ||
	    !X509_set_version(x, 2) ||
	    !X509_gmtime_adj(X509_getm_notBefore(x), -3600) ||
	    !X509_gmtime_adj(X509_getm_notAfter(x), (long)SELF_SIGNED_DAYS * 86400) ||
	    !X509_set_pubkey(x, key))
		goto fail;
	name = X509_get_subject_name(x);
	if (!X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)host, -1,
					-1, 0) ||
	    !X509_set_issuer_name(x, name))
		goto fail;
	X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name, san);
	if (!ext || !X509_add_ext(x, ext, -1)) {
		X509_EXTENSION_free(ext);
		goto fail;
	}
	X509_EXTENSION_free(ext);
	if (!X509_sign(x, key, EVP_sha256()))
		goto fail;
	BN_free(bn);
	return x;
fail:
	BN_free(bn);
	X509_free(x);
	return NULL;
}

static int write_pair(const char *cert_path, const char *key_path, const char *host)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *x = key ? make_cert(key, host) : NULL;
	FILE *kf = NULL, *cf = NULL;
	int r = -1;

	if (!x)
		goto out;
	kf = open_private(key_path);
	cf = kf ? open_private(cert_path) : NULL;
	if (!cf)
		goto out;
	if (PEM_write_PrivateKey(kf, key, NULL, NULL, 0, NULL, NULL) == 1 && PEM_write_X509(cf, x) == 1)
		r = 0;
out:
	if (kf && fclose(kf))
		r = -1;
	if (cf && fclose(cf))
		r = -1;
	if (r) {
		if (kf)
			unlink(key_path);
		if (cf)
			unlink(cert_path);
	}
	X509_free(x);
	EVP_PKEY_free(key);
	return r;
}

int tls_self_signed(const char *database, char *cert_path, char *key_path, size_t len)
{
	const char *slash = strrchr(database, '/');
	int dirlen = slash ? (int)(slash - database) : 1;
	const char *dir = slash ? database : ".";
	char host[256];
	bool have_cert, have_key;

	if (slash == database)
		dirlen = 1;	/* the database in / */
	if (snprintf(cert_path, len, "%.*s/%s", dirlen, dir, SELF_SIGNED_CERT) >= (int)len ||
	    snprintf(key_path, len, "%.*s/%s", dirlen, dir, SELF_SIGNED_KEY) >= (int)len)
		return -1;
	have_cert = !access(cert_path, F_OK);
	have_key = !access(key_path, F_OK);
	if (have_cert && have_key)
		return 0;	/* made at an earlier start */
	if (have_cert != have_key) {
		log_err("tls: %s without %s: remove it to make a new pair", have_cert ? cert_path : key_path,
			have_cert ? key_path : cert_path);
		return -1;
	}
	if (gethostname(host, sizeof(host)) || !host[0])
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = 0;
	if (write_pair(cert_path, key_path, host)) {
		log_err("tls: cannot make a self-signed certificate in %s: %s", cert_path,
			errno ? strerror(errno) : "OpenSSL failed");
		return -1;
	}
	log_info("tls: made a self-signed certificate for %s: %s", host, cert_path);
	return 0;
}
