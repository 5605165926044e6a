/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The nftables shield: ksipd's own nf_tables table (`table inet ksip`, the
 * name from `nft_table`), spoken to through libmnl + libnftnl, never an `nft`
 * child. ksipd owns that table and nothing outside it; its base chains have
 * policy accept, so it sits beside the host's own firewall.
 *
 * What the table holds (the names are an interface: docs/security.md):
 *
 *   counters  allow_sip allow_relay ban_sip ban_relay rate_sip
 *   sets      sip_udp sip_tcp        inet_service: the `listen` ports
 *             ban4                   ipv4_addr, flags timeout: banned addresses
 *             ban6                   ipv6_addr, flags interval,timeout: banned /64s
 *             allow4 allow6          ipv4/ipv6_addr, flags interval: never banned or limited
 *             rate4 rate6            ipv4/ipv6_addr, flags dynamic,timeout: the rate meter
 *   chains    early                  filter, hook prerouting, priority -450, accept: relay bans
 *                                    (before ksip.ko's hook at -410, so a ban stops latching)
 *             prerouting             filter, hook prerouting, priority raw (-300), accept
 *             output                 filter, hook output, priority raw, accept: notrack replies
 *             sip  relay             regular chains the base chains jump to, per port kind
 *
 * Bans are elements with a timeout: the kernel expires them. The shield
 * also keeps them in memory (address and expiry) so that restore() can put
 * them back after an operator's `nft flush ruleset`.
 *
 * Threading: every call but the monitor's takes the shield's own lock, so
 * workers (bans), the control thread (counters) and the main loop (monitor,
 * restore) may share one shield. The monitor fd belongs to one poller.
 */
#ifndef KSIP_SHIELD_NFT_H
#define KSIP_SHIELD_NFT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "base/config.h"

struct nft_shield;

/* The table's named counters, in one place: names, `ksipctl shield` and stats come from it. */
#define NFT_SHIELD_COUNTERS(X)							\
	X(allow_sip, "packets to SIP ports from allow4/allow6, accepted")	\
	X(allow_relay, "packets to relay ports from allow4/allow6, accepted")	\
	X(ban_sip, "packets to SIP ports from ban4/ban6, dropped")		\
	X(ban_relay, "packets to relay ports from ban4/ban6, dropped")		\
	X(rate_sip, "packets to SIP ports over shield_sip_rate, dropped")

enum nft_shield_counter {
#define NFT_SHIELD_ENUM(name, help) NFT_SHIELD_CTR_##name,
	NFT_SHIELD_COUNTERS(NFT_SHIELD_ENUM)
#undef NFT_SHIELD_ENUM
	NFT_SHIELD_NCOUNTERS
};

struct nft_shield_counter_desc {
	const char *name;
	const char *help;
};
extern const struct nft_shield_counter_desc nft_shield_counter_desc[NFT_SHIELD_NCOUNTERS];

struct nft_shield_counters {
	uint64_t packets[NFT_SHIELD_NCOUNTERS];
	uint64_t bytes[NFT_SHIELD_NCOUNTERS];
};

/* Bans the shield remembers at most (and the size of ban4 and ban6 each). */
#define NFT_SHIELD_BAN_MAX 65536

/*
 * Create the table in one nf_tables transaction, replacing a leftover of an
 * earlier run, with allow4/allow6 from cfg->shield_allow. NULL on failure,
 * with ERR naming the netlink error and the object (missing nf_tables,
 * permission denied, ...): the caller falls back to the userspace shield.
 */
struct nft_shield *nft_shield_open(const struct ksip_config *cfg, char *err, size_t errlen);
/* Delete the table unless KEEP (nft_keep_on_stop), then free. NULL is fine. */
void nft_shield_close(struct nft_shield *s, bool keep);

/*
 * Ban ADDR's source as the userspace shield counts it: an IPv4 address in
 * ban4 (a v4-mapped IPv6 address counts as IPv4), or the IPv6 /64 holding
 * ADDR in ban6 (any address of it names it). For SECONDS (1 .. 30 days,
 * larger is cut); a ban already there gets the new timeout. 0 or -1 with errno (EAFNOSUPPORT, ENOSPC: the
 * memory of bans is full, or the kernel's errno) and the reason logged.
 */
int nft_shield_ban(struct nft_shield *s, const struct sockaddr_storage *addr, uint32_t seconds);
/* Lift a ban (ADDR's address or /64, as above) at once; one not there (or expired) is no error. */
int nft_shield_unban(struct nft_shield *s, const struct sockaddr_storage *addr);
/* Replace allow4/allow6 with CIDRS in one transaction (trusted_peers and shield_allow). */
int nft_shield_allow_set(struct nft_shield *s, const struct ksip_cidr *cidrs, size_t n);
/* The named counters, read from the kernel. */
int nft_shield_counters(struct nft_shield *s, struct nft_shield_counters *out);

/* Is the table still there (someone may have run `nft flush ruleset`)? */
bool nft_shield_present(struct nft_shield *s);
/* Build the table again and put back the allow list and the bans not yet expired. */
int nft_shield_restore(struct nft_shield *s);

/*
 * The monitor: a netlink socket in the nf_tables multicast group, for the
 * caller's poll or epoll (EPOLLIN). monitor_read() drains it without
 * blocking and returns true when our table was deleted or changed by
 * someone else (then call restore(), and log it). Events of our own
 * transactions are ignored. When the kernel dropped events (ENOBUFS) it
 * checks presence instead.
 */
int nft_shield_monitor_fd(const struct nft_shield *s);
bool nft_shield_monitor_read(struct nft_shield *s);

/* The table's name, for logs. */
const char *nft_shield_table(const struct nft_shield *s);

#endif
