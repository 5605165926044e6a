/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the in-memory tables (users.c, location.c) and the store (store.c
 * and its backends) hand each other. Neither side names the other's
 * functions: the top wires them through the callbacks and ops below.
 */
#ifndef KSIP_STORE_RECORD_H
#define KSIP_STORE_RECORD_H

#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include "base/config.h"

/* What a reader sees of a binding; strings valid only during the callback. */
struct binding_view {
	const char *aor;
	const char *contact;
	const char *callid;
	uint32_t cseq;
	uint32_t expires_in;	/* seconds left; 0 in what the store loads (see expires_at) */
	uint16_t q;
	enum ksip_transport transport;
	struct sockaddr_storage source;
	/*
	 * Our address and port the REGISTER came in on, to reach it from again
	 * (several listen addresses); family 0 when not known (a binding read
	 * back at start-up: it is not stored).
	 */
	struct sockaddr_storage local;
};

typedef void (*binding_fn)(void *ctx, const struct binding_view *b);

/* A binding read back at start-up, EXPIRES_AT absolute. Returns 0 when it was taken. */
typedef int (*binding_load_fn)(void *ctx, const struct binding_view *b, time_t expires_at);

/*
 * Binding changes that must reach the disk, reported by the location table
 * to whoever it was given at creation. Called under a location shard lock:
 * an implementation queues, it never blocks on I/O.
 */
struct binding_persist_ops {
	void (*save)(void *arg, const struct binding_view *b, time_t expires_at);
	void (*remove)(void *arg, const char *aor, const char *contact);
	void (*remove_aor)(void *arg, const char *aor);
};

/*
 * Which digest algorithms a user is challenged with (ksipctl user --digest;
 * docs/security.md, "Digest algorithms"). Always within auth_algorithms.
 */
enum user_digest {
	USER_DIGEST_AUTO,	/* the last algorithm that worked, else the User-Agent policy */
	USER_DIGEST_SHA256,	/* SHA-256 only, in challenges and in credentials */
	USER_DIGEST_MD5,	/* MD5 only */
	USER_DIGEST_BOTH,	/* every configured algorithm, whoever asks */
	USER_DIGEST__COUNT
};

/* The algorithm of a user's last successful authentication (remembered for USER_DIGEST_AUTO). */
enum user_last_alg { USER_LAST_NONE, USER_LAST_MD5, USER_LAST_SHA256, USER_LAST__COUNT };

struct user_record {
	char name[128];
	uint8_t ha1_md5[16];
	uint8_t ha1_sha256[32];
	uint8_t digest;		/* enum user_digest */
	uint8_t last_alg;	/* enum user_last_alg */
};

/*
 * A user's last algorithm changed (users_note_alg): called under a users
 * shard lock, so an implementation queues, it never blocks on I/O.
 */
struct users_persist_ops {
	void (*save_last_alg)(void *arg, const char *name, enum user_last_alg last);
};

/* A user read back at start-up. Returns 0 when it was taken. */
typedef int (*user_load_fn)(void *ctx, const struct user_record *u);

/*
 * A ban as the store keeps it (the shield's list, written through the
 * writer queue; re-installed at start with the time it has left). The
 * source is text as the shield prints it ("192.0.2.1", "2001:db8::/64"):
 * the store need not know what a source is.
 */
struct ban_record {
	char source[48];
	int64_t added, until;		/* seconds since the epoch */
	char reason[16];		/* "auth_failures", "operator" */
	char note[KSIP_BAN_NOTE_MAX];	/* the operator's reason, or "" */
};

/* A ban read back at start-up. Returns 0 when it was taken. */
typedef int (*ban_load_fn)(void *ctx, const struct ban_record *b);

/*
 * A conference room (issue 17): its name (a SIP user part, never a user's
 * name too), the PIN asked before a member hears the room ("": none) and
 * its size (0: the configured room_max_members).
 */
#define ROOM_NAME_MAX 64
#define ROOM_PIN_MAX 16
struct room_record {
	char name[ROOM_NAME_MAX];
	char pin[ROOM_PIN_MAX + 1];
	uint32_t max_members;
};

typedef int (*room_load_fn)(void *ctx, const struct room_record *r);

/*
 * A paging group (issue 17): calling NAME rings every member's phones with
 * an auto-answer header. PAGE_MEMBERS_MAX is media.h's MEDIA_OUTPUTS_MAX
 * (the caller's audio is copied once per member; control.c checks they agree).
 */
#define PAGE_MEMBERS_MAX 16
#define PAGE_NAME_MAX 128	/* as struct user_record's name: a group is called like a user */

struct page_record {
	char name[PAGE_NAME_MAX];
	unsigned int n;
	char member[PAGE_MEMBERS_MAX][PAGE_NAME_MAX];
};

/* A group read back at start-up. Returns 0 when it was taken. */
typedef int (*page_load_fn)(void *ctx, const struct page_record *g);

#endif
