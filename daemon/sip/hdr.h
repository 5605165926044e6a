/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Parsers for header values: comma-separated lists, Via, name-addr /
 * addr-spec, SIP URIs, generic ";name=value" parameters and CSeq.
 * All results are spans into the message buffer.
 */
#ifndef KSIP_SIP_HDR_H
#define KSIP_SIP_HDR_H

#include "sip/msg.h"

/*
 * Iterate the comma-separated elements of a list header (Via, Contact,
 * Route, ...). Commas inside quoted strings and <...> do not split.
 * *rest is advanced; returns false when no element is left.
 */
bool sip_list_next(struct sip_span *rest, struct sip_span *elem);

/* Iterate every element of every instance of a header. */
struct sip_hdr_iter {
	const struct sip_msg *m;
	enum sip_hdr_id id;
	int idx;
	struct sip_span rest;
};
void sip_hdr_iter_init(struct sip_hdr_iter *it, const struct sip_msg *m, enum sip_hdr_id id);
bool sip_hdr_iter_next(struct sip_hdr_iter *it, struct sip_span *elem);

/*
 * Find parameter NAME in a ";a=b;c;d=\"q\"" list (case-insensitive name).
 * *val is the raw value (quotes kept) or empty for a flag parameter.
 */
bool sip_param_find(struct sip_span params, const char *name, struct sip_span *val);

struct sip_via {
	struct sip_span transport;	/* UDP, TCP, TLS, ... */
	struct sip_span host;		/* IPv6 kept with brackets */
	uint32_t port;			/* 0 when absent */
	struct sip_span params;		/* from the first ';' */
	struct sip_span branch;
	bool has_rport;
	bool has_received;
};
bool sip_via_parse(struct sip_span v, struct sip_via *via);

enum sip_scheme { SIP_SCHEME_OTHER, SIP_SCHEME_SIP, SIP_SCHEME_SIPS, SIP_SCHEME_TEL };

struct sip_uri {
	enum sip_scheme scheme;
	struct sip_span user;
	struct sip_span password;
	struct sip_span host;		/* IPv6 kept with brackets */
	uint32_t port;			/* 0 when absent */
	struct sip_span params;		/* ";..." up to '?' */
	struct sip_span headers;	/* after '?' */
};
bool sip_uri_parse(struct sip_span s, struct sip_uri *uri);

/* From, To, Contact, Route elements. */
struct sip_naddr {
	bool star;			/* Contact: * */
	struct sip_span display;
	struct sip_span uri;
	struct sip_span params;		/* header parameters (tag, expires, q) */
};
bool sip_naddr_parse(struct sip_span s, struct sip_naddr *na);

struct sip_cseq {
	uint32_t seq;
	struct sip_span method;
};
bool sip_cseq_parse(struct sip_span s, struct sip_cseq *cs);

/* q-value "0.5" -> 500; returns false when malformed or > 1. */
bool sip_qvalue_parse(struct sip_span s, uint16_t *q);

#endif
