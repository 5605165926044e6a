// SPDX-License-Identifier: GPL-2.0
#include "txn/cache.h"

#include <stdlib.h>

#include "base/hash.h"

struct txn_slot {
	uint64_t key;
	uint32_t when;
	uint16_t code;
};

struct txn_cache {
	uint32_t mask;
	struct txn_slot slot[];
};

struct txn_cache *txn_cache_new(uint32_t slots)
{
	uint32_t n = 1;
	struct txn_cache *c;

	while (n < slots)
		n <<= 1;
	c = calloc(1, sizeof(*c) + n * sizeof(struct txn_slot));
	if (c)
		c->mask = n - 1;
	return c;
}

void txn_cache_free(struct txn_cache *c)
{
	free(c);
}

uint64_t txn_key(const struct sip_msg *m, const struct sip_source *src)
{
	static const enum sip_hdr_id parts[] = {
		SIP_HDR_VIA, SIP_HDR_CALL_ID, SIP_HDR_CSEQ, SIP_HDR_FROM,
		SIP_HDR_AUTHORIZATION, SIP_HDR_PROXY_AUTHORIZATION,
	};
	uint64_t h = hash_bytes(&src->addr, src->addrlen);

	/* The whole top Via (branch and sent-by) and the credentials are part of the key. */
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		const struct sip_hdr *hd = sip_hdr_first(m, parts[i]);

		h = hash_bytes_seed(h, &i, sizeof(i));
		if (hd)
			h = hash_bytes_seed(h, hd->value.p, hd->value.len);
	}
	h = hash_bytes_seed(h, m->method_name.p, m->method_name.len);
	return h ? h : 1;
}

int txn_cache_lookup(const struct txn_cache *c, uint64_t key, time_t now)
{
	const struct txn_slot *s = &c->slot[key & c->mask];

	if (s->key != key || (uint32_t)now - s->when > TXN_LIFETIME)
		return 0;
	return s->code;
}

void txn_cache_store(struct txn_cache *c, uint64_t key, int code, time_t now)
{
	struct txn_slot *s = &c->slot[key & c->mask];

	s->key = key;
	s->when = (uint32_t)now;
	s->code = (uint16_t)code;
}
