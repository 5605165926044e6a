/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Inside the nftables shield: nft_nl.c speaks netlink (one socket for
 * transactions and requests, one for the monitor), nft.c decides what the
 * table holds. Everything here runs under struct nft_shield's lock.
 */
#ifndef KSIP_SHIELD_NFT_PRIV_H
#define KSIP_SHIELD_NFT_PRIV_H

#include <pthread.h>
#include <stdarg.h>
#include <time.h>

#include "base/config.h"
#include "shield/nft.h"

struct mnl_socket;
struct mnl_nlmsg_batch;
struct nlmsghdr;

#define NFT_BATCH_LIMIT (128 * 1024)	/* one transaction's bytes (the buffer is twice that) */
#define NFT_BATCH_MSGS 160		/* messages in one transaction, each with its description */
#define NFT_WHAT_LEN 80

/* One remembered ban: what restore() puts back. */
struct nft_ban {
	struct nft_ban *next;		/* hash chain */
	int family;
	uint8_t addr[16];
	time_t until;			/* CLOCK_MONOTONIC seconds */
};

#define NFT_BAN_BUCKETS 4096		/* power of two */
#define NFT_ALLOW_MAX 512		/* prefixes in allow4 + allow6 */
#define NFT_ELEMS_PER_MSG 256		/* set elements in one message */

struct nft_shield {
	pthread_mutex_t lock;
	struct mnl_socket *nl;		/* transactions and requests */
	struct mnl_socket *mon;		/* NFNLGRP_NFTABLES, non-blocking */
	uint32_t portid;		/* nl's: our own events carry it */
	uint32_t seq;
	char table[64];

	/* what the table holds, from the configuration */
	uint16_t sip_udp[MAX_LISTEN], sip_tcp[MAX_LISTEN];
	int n_sip_udp, n_sip_tcp;
	uint16_t relay_min, relay_max;
	uint32_t sip_rate, sip_burst;
	struct ksip_cidr allow[NFT_ALLOW_MAX];	/* sorted, none inside another */
	size_t nallow;

	struct nft_ban *bans[NFT_BAN_BUCKETS];
	size_t nbans;

	/* the transaction being built */
	char *buf;			/* 2 * NFT_BATCH_LIMIT */
	struct mnl_nlmsg_batch *batch;
	uint32_t batch_seq0;		/* seq of its BEGIN */
	int batch_n;			/* messages in it, BEGIN included */
	bool batch_full;
	char what[NFT_BATCH_MSGS][NFT_WHAT_LEN];
	char err[256];			/* the last failure, netlink error and object */
};

/* nft_nl.c */
int nft_nl_open(struct nft_shield *s, char *err, size_t errlen);
void nft_nl_close(struct nft_shield *s);
void nft_batch_begin(struct nft_shield *s);
/* A message header in the batch, for the caller to fill; WHAT names it in errors. */
__attribute__((format(printf, 4, 5)))
struct nlmsghdr *nft_batch_msg(struct nft_shield *s, uint16_t type, uint16_t flags,
			       const char *what, ...);
/* After filling the message. */
void nft_batch_next(struct nft_shield *s);
/*
 * Commit: send BEGIN..END and read the kernel's answers. 0, or a negative
 * errno of the first message refused with s->err naming it.
 */
int nft_batch_commit(struct nft_shield *s);

typedef int (*nft_reply_fn)(const struct nlmsghdr *nlh, void *arg);
/*
 * A request outside a transaction (GET, or a dump with NLM_F_DUMP): each
 * answer goes to FN. 0 or a negative errno (s->err says what).
 */
int nft_request(struct nft_shield *s, uint16_t type, uint16_t flags,
		void (*fill)(struct nlmsghdr *nlh, void *arg), nft_reply_fn fn, void *arg,
		const char *what);

void nft_set_err(struct nft_shield *s, int err, const char *what);

#endif
