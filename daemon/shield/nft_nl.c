// SPDX-License-Identifier: GPL-2.0
/*
 * The shield's netlink: nf_tables transactions (NFNL_MSG_BATCH_BEGIN ..
 * END) and requests, through libmnl. The kernel's answers are input like any
 * other: every loop over them is bounded, every message is checked for
 * length and sequence before it is read, and an answer to a request we did
 * not make (an earlier one that timed out) is skipped.
 */
#include <errno.h>
#include <netinet/in.h>	/* before <linux/netfilter.h>, which would bring <linux/in.h> */
#include <stdio.h>
#include <string.h>
#include <sys/time.h>

#include <libmnl/libmnl.h>
#include <libnftnl/common.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>

#include "base/log.h"
#include "shield/nft_priv.h"

/* Datagrams read for one answer at most: a counters dump is a few, a transaction's errors fewer. */
#define NFT_RECV_MAX 1024
#define NFT_RECV_TIMEOUT_MS 2000

static const char *errno_name(int e)
{
	const char *n = strerrorname_np(e);

	return n ? n : "?";
}

/* Why an errno from nf_tables usually happens, for the operator. */
static const char *errno_hint(int e)
{
	switch (e) {
	case EPERM:
		return ": ksipd needs CAP_NET_ADMIN (in its network namespace) for nftables";
	case EPROTONOSUPPORT:
	case EOPNOTSUPP:
		return ": the kernel lacks nf_tables or one of its expressions (modules nf_tables, "
		       "nft_limit, nft_objref, nft_ct, nft_set_*?)";
	case ENOSPC:
	case ENFILE:
		return ": the set is full";
	default:
		return "";
	}
}

void nft_set_err(struct nft_shield *s, int err, const char *what)
{
	snprintf(s->err, sizeof(s->err), "nf_tables: %s: %s (%s)%s", what, strerror(err),
		 errno_name(err), errno_hint(err));
}

int nft_nl_open(struct nft_shield *s, char *err, size_t errlen)
{
	unsigned int one = 1;
	struct timeval tv = { NFT_RECV_TIMEOUT_MS / 1000, (NFT_RECV_TIMEOUT_MS % 1000) * 1000 };
	int group = NFNLGRP_NFTABLES;

	s->nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
	if (!s->nl || mnl_socket_bind(s->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		snprintf(err, errlen, "nf_tables: netlink socket: %s (%s)%s", strerror(errno),
			 errno_name(errno), errno_hint(errno));
		return -1;
	}
	s->portid = mnl_socket_get_portid(s->nl);
	/* Errors without the message they answer: a refused batch is not echoed back whole. */
	mnl_socket_setsockopt(s->nl, NETLINK_CAP_ACK, &one, sizeof(one));
	setsockopt(mnl_socket_get_fd(s->nl), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));

	s->mon = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (!s->mon || mnl_socket_bind(s->mon, 0, MNL_SOCKET_AUTOPID) < 0 ||
	    mnl_socket_setsockopt(s->mon, NETLINK_ADD_MEMBERSHIP, &group, sizeof(group)) < 0) {
		snprintf(err, errlen, "nf_tables: monitor socket (group NFNLGRP_NFTABLES): %s (%s)%s",
			 strerror(errno), errno_name(errno), errno_hint(errno));
		return -1;
	}
	return 0;
}

void nft_nl_close(struct nft_shield *s)
{
	if (s->mon)
		mnl_socket_close(s->mon);
	if (s->nl)
		mnl_socket_close(s->nl);
	s->mon = s->nl = NULL;
}

static void batch_name(struct nft_shield *s, const char *fmt, va_list ap)
{
	if (s->batch_n < NFT_BATCH_MSGS)
		vsnprintf(s->what[s->batch_n], NFT_WHAT_LEN, fmt, ap);
}

void nft_batch_begin(struct nft_shield *s)
{
	s->batch = mnl_nlmsg_batch_start(s->buf, NFT_BATCH_LIMIT);
	s->batch_seq0 = ++s->seq;
	s->batch_n = 0;
	s->batch_full = false;
	nftnl_batch_begin(mnl_nlmsg_batch_current(s->batch), s->batch_seq0);
	snprintf(s->what[0], NFT_WHAT_LEN, "begin transaction");
	s->batch_n = 1;
	mnl_nlmsg_batch_next(s->batch);
}

struct nlmsghdr *nft_batch_msg(struct nft_shield *s, uint16_t type, uint16_t flags,
			       const char *what, ...)
{
	va_list ap;

	va_start(ap, what);
	batch_name(s, what, ap);
	va_end(ap);
	return nftnl_nlmsg_build_hdr(mnl_nlmsg_batch_current(s->batch), type, NFPROTO_INET, flags,
				     s->batch_seq0 + (uint32_t)s->batch_n);
}

void nft_batch_next(struct nft_shield *s)
{
	/* false: this message passed the limit; the buffer has room for it, we refuse to send. */
	if (!mnl_nlmsg_batch_next(s->batch) || s->batch_n + 1 >= NFT_BATCH_MSGS)
		s->batch_full = true;
	s->batch_n++;
}

/*
 * Read every datagram queued on nl. nf_tables handles a transaction inside
 * our sendmsg(), so its answers (errors only: we ask for no acks) are all
 * queued when it returns; DONTWAIT reads them and stops at EAGAIN.
 */
static int batch_answers(struct nft_shield *s)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	int first = 0;

	for (int i = 0; i < NFT_RECV_MAX; i++) {
		ssize_t n = recv(mnl_socket_get_fd(s->nl), buf, sizeof(buf), MSG_DONTWAIT);
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;
		int len = (int)n;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && !first) {
				first = -errno;
				nft_set_err(s, errno, "reading the transaction's answer");
			}
			break;
		}
		for (; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) {
			const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
			uint32_t k = nlh->nlmsg_seq - s->batch_seq0;

			if (nlh->nlmsg_type != NLMSG_ERROR || k >= (uint32_t)s->batch_n + 1 ||
			    mnl_nlmsg_get_payload_len(nlh) < sizeof(*e) || !e->error || first)
				continue;
			first = e->error < 0 && e->error > -4096 ? e->error : -EPROTO;
			nft_set_err(s, -first, k < NFT_BATCH_MSGS && k < (uint32_t)s->batch_n ?
				    s->what[k] : "end transaction");
		}
	}
	return first;
}

static int batch_send(struct nft_shield *s)
{
	ssize_t n;

	/* Whatever an earlier, timed-out request left behind is not this transaction's answer. */
	(void)batch_answers(s);
	s->err[0] = 0;
	n = mnl_socket_sendto(s->nl, mnl_nlmsg_batch_head(s->batch),
			      mnl_nlmsg_batch_size(s->batch));
	s->seq = s->batch_seq0 + (uint32_t)s->batch_n;
	if (n < 0) {
		nft_set_err(s, errno, "sending the transaction");
		return -errno;
	}
	return batch_answers(s);
}

int nft_batch_commit(struct nft_shield *s)
{
	int r;

	if (s->batch_full) {
		snprintf(s->err, sizeof(s->err), "nf_tables: transaction too large (%d messages)",
			 s->batch_n);
		mnl_nlmsg_batch_stop(s->batch);
		s->batch = NULL;
		return -E2BIG;
	}
	nftnl_batch_end(mnl_nlmsg_batch_current(s->batch), s->batch_seq0 + (uint32_t)s->batch_n);
	mnl_nlmsg_batch_next(s->batch);
	r = batch_send(s);
	mnl_nlmsg_batch_stop(s->batch);
	s->batch = NULL;
	return r;
}

int nft_request(struct nft_shield *s, uint16_t type, uint16_t flags,
		void (*fill)(struct nlmsghdr *nlh, void *arg), nft_reply_fn fn, void *arg,
		const char *what)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	uint32_t seq = ++s->seq;

	(void)batch_answers(s);
	nlh = nftnl_nlmsg_build_hdr(buf, type, NFPROTO_INET, flags | NLM_F_ACK, seq);
	fill(nlh, arg);
	if (mnl_socket_sendto(s->nl, nlh, nlh->nlmsg_len) < 0) {
		nft_set_err(s, errno, what);
		return -errno;
	}
	for (int i = 0; i < NFT_RECV_MAX; i++) {
		ssize_t n = mnl_socket_recvfrom(s->nl, buf, sizeof(buf));
		const struct nlmsghdr *r = (const struct nlmsghdr *)buf;
		int len = (int)n;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			nft_set_err(s, errno == EAGAIN ? ETIMEDOUT : errno, what);
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		}
		for (; mnl_nlmsg_ok(r, len); r = mnl_nlmsg_next(r, &len)) {
			if (r->nlmsg_seq != seq)
				continue;	/* a stale answer */
			if (r->nlmsg_type == NLMSG_DONE)
				return 0;
			if (r->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = mnl_nlmsg_get_payload(r);

				if (mnl_nlmsg_get_payload_len(r) < sizeof(*e)) {
					nft_set_err(s, EPROTO, what);
					return -EPROTO;
				}
				if (e->error < 0 && e->error > -4096) {
					nft_set_err(s, -e->error, what);
					return e->error;
				}
				if (e->error) {
					nft_set_err(s, EPROTO, what);
					return -EPROTO;
				}
				/* the ack: a dump ends with DONE, a GET with this */
				if (!(flags & NLM_F_DUMP))
					return 0;
				continue;
			}
			if (fn && fn(r, arg) < 0) {
				nft_set_err(s, EPROTO, what);
				return -EPROTO;
			}
		}
	}
	nft_set_err(s, EMSGSIZE, what);
	return -EMSGSIZE;
}
