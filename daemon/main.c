// SPDX-License-Identifier: GPL-2.0
/* ksipd: start-up, housekeeping and orderly shutdown. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "control.h"
#include "dispatch.h"
#include "metrics.h"
#include "sip/digest.h"
#include "ksipd.h"
#include "store/location.h"
#include "ksip/genl.h"
#include "base/log.h"
#include "media/media.h"
#include "media/port_pool.h"
#include "proxy/proxy.h"
#include "shield/nft.h"
#include "shield/shield.h"
#include "store/store.h"
#include "store/pages.h"
#include "store/users.h"
#include "store/rooms.h"
#include "conf/conf.h"
#include "conf/focus.h"
#include "transport/fdlimit.h"
#include "transport/worker.h"
#include "txn/cache.h"

#define TXN_CACHE_SLOTS 65536	/* the registrar's retransmission cache, per worker */

static void usage(FILE *f)
{
	fprintf(f, "usage: ksipd [--config FILE] [--check-config]\n"
		   "  Runs in the foreground and logs to stderr. Without --config the\n"
		   "  embedded defaults apply (see docs/configuration.md). SIGHUP\n"
		   "  reloads log_level, trusted_peers, shield_allow, the users and the\n"
		   "  TLS certificate.\n");
}

static int online_cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n > 0 && n <= KSIP_MAX_WORKERS ? (int)n : 1;
}

/* The store hands what it loads to the tables through these (store/ knows neither table). */
static int load_room(void *rooms, const struct room_record *r)
{
	return rooms_put(rooms, r);
}

static int load_user(void *users, const struct user_record *u)
{
	return users_put(users, u);
}

static int load_page(void *pages, const struct page_record *g)
{
	return pages_put(pages, g);
}

static int load_binding(void *loc, const struct binding_view *b, time_t expires_at)
{
	return location_restore(loc, b, expires_at);
}

static int open_state(struct ksipd *d)
{
	uint8_t secret[NONCE_SECRET_LEN];
	uint64_t decoy_key[2];
	char err[512];
	int n;

	d->store = store_open(&store_backend_sqlite, d->cfg.database, d->cfg.store_flush_ms, err,
			      sizeof(err));
	if (!d->store) {
		log_err("%s", err);
		return -1;
	}
	if (store_secret(d->store, secret, sizeof(secret))) {
		log_err("database %s: cannot load or create the nonce secret", d->cfg.database);
		return -1;
	}
	d->auth.nonce = nonce_key_new(secret, d->cfg.realm);
	explicit_bzero(secret, sizeof(secret));
	/* Its own secret, not the nonce key: in-dialog requests prove their dialog with it. */
	if (store_named_secret(d->store, "route_secret", d->route_key, sizeof(d->route_key))) {
		log_err("database %s: cannot load or create the Record-Route secret", d->cfg.database);
		return -1;
	}
	/* Unknown names get the same challenge before and after a restart (users_digest_of). */
	if (store_named_secret(d->store, "decoy_secret", (uint8_t *)decoy_key, sizeof(decoy_key))) {
		log_err("database %s: cannot load or create the decoy secret", d->cfg.database);
		return -1;
	}
	d->users = users_new();
	if (d->users) {
		users_nonce_limits(d->users, d->cfg.nonce_max_per_user, d->cfg.nonce_max_total);
		users_decoy_key(d->users, decoy_key);
		/* A changed last algorithm reaches the disk through the writer queue. */
		users_set_persist(d->users, &store_users_persist, d->store);
	}
	/* Binding changes reach the disk through the store's writer queue. */
	d->loc = location_new(&store_binding_persist, d->store);
	d->pages = pages_new();
	if (!d->users || !d->pages || !d->loc || !d->auth.nonce)
		return -1;
	d->auth.cfg = &d->cfg;
	d->auth.users = d->users;
	d->auth.on_failure = ksipd_auth_failed;
	d->auth.failure_arg = d;
	n = store_load_users(d->store, d->cfg.realm, load_user, d->users);
	if (n < 0)
		return -1;
	log_info("%d users loaded from %s", n, d->cfg.database);
	d->rooms = rooms_new();
	d->conf = d->rooms ? conf_new(&d->cfg, d->rooms) : NULL;
	if (!d->conf)
		return -1;
	n = store_load_rooms(d->store, load_room, d->rooms);
	if (n < 0)
		return -1;
	if (n)
		log_info("%d conference rooms", n);
	n = store_load_pages(d->store, load_page, d->pages);
	if (n < 0)
		return -1;
	log_info("%d paging groups loaded", n);
	n = store_load_bindings(d->store, time(NULL), load_binding, d->loc);
	if (n < 0)
		return -1;
	log_info("%d bindings restored", n);
	return 0;
}

/* Bans, failed-auth counts and per-source rates, before any worker reads them. */
static int open_shield(struct ksipd *d)
{
	bool off = d->cfg.shield == KSIP_SHIELD_OFF;
	/* shield = off: the tables stay (ksipctl ban works) but nothing bans or limits by itself. */
	const struct shield_params p = {
		.ban_time = d->cfg.ban_time,
		.auth_fail_limit = off ? 0 : d->cfg.auth_fail_limit,
		.auth_fail_window = d->cfg.auth_fail_window,
		.source_rate = off ? 0 : d->cfg.source_rate,
		.source_burst = d->cfg.source_burst,
		.table_size = d->cfg.shield_table_size,
	};

	d->shield = shield_new(&p);
	if (!d->shield)
		return -1;
	log_info("shield: ban %u s after %u failed authentications in %u s; %u requests/s "
		 "(burst %u) per source without credentials; %zu KiB of tables", p.ban_time,
		 p.auth_fail_limit, p.auth_fail_window, p.source_rate, p.source_burst,
		 shield_memory(d->shield) / 1024);
	return 0;
}

/* Sockets and threads, then per worker its proxy and registrar cache (struct ksipd_worker). */
static int open_workers(struct ksipd *d)
{
	d->nworkers = d->cfg.workers ? d->cfg.workers : online_cpus();
	d->workers = calloc((size_t)d->nworkers, sizeof(*d->workers));
	if (!d->workers)
		return -1;
	d->transport = transport_new(&d->cfg, d->nworkers, &ksipd_transport_ops);
	if (!d->transport)
		return -1;
	for (int i = 0; i < d->nworkers; i++) {
		struct ksipd_worker *kw = &d->workers[i];
		struct worker *w = transport_worker(d->transport, i);

		kw->d = d;
		kw->w = w;
		kw->txc = txn_cache_new(TXN_CACHE_SLOTS);
		kw->proxy = proxy_new(&(struct proxy_env){ .cfg = &d->cfg, .nworkers = d->nworkers,
							   .users = d->users,
							   .pages = d->pages,
							   .loc = d->loc, .auth = &d->auth,
							   .media = &d->media,
							   .route_key = d->route_key,
							   .focus = &focus_ops },
				      i, worker_stats(w), worker_epfd(w));
		if (!kw->txc || !kw->proxy)
			return -1;
		proxy_set_worker(kw->proxy, w);
		kw->focus = focus_new(d->conf, kw->proxy);
		if (!kw->focus)
			return -1;
		proxy_set_focus(kw->proxy, kw->focus);
		worker_attach(w, kw);
	}
	return 0;
}

/* After transport_stop(): no worker runs any more. */
static void close_workers(struct ksipd *d)
{
	for (int i = 0; d->workers && i < d->nworkers; i++) {
		focus_free(d->workers[i].focus);	/* its members' timers are the proxy's */
		proxy_free(d->workers[i].proxy);
		txn_cache_free(d->workers[i].txc);
	}
	transport_free(d->transport);
	free(d->workers);
}

/* Kernel media when ksip.ko answers (and the config allows), else the userspace relay. */
static int choose_media(struct ksipd *d)
{
	char err[KSIP_GENL_ERRLEN];
	struct ksip_genl *g = NULL;

	d->media.cfg = &d->cfg;
	d->media.ports = port_pool_new(d->cfg.rtp_port_min, d->cfg.rtp_port_max);
	if (!d->media.ports) {
		log_err("rtp_ports %u-%u holds no even/odd port pair", d->cfg.rtp_port_min,
			d->cfg.rtp_port_max);
		return -1;
	}
	if (d->cfg.media != KSIP_MEDIA_USERSPACE)
		g = ksip_genl_open(err, sizeof(err));
	else
		snprintf(err, sizeof(err), "media = userspace in the configuration");
	if (!g && d->cfg.media == KSIP_MEDIA_KERNEL) {
		log_err("media = kernel, but %s", err);
		return -1;
	}
	d->media.kernel = g != NULL;
	if (g) {
		ksip_genl_close(g);
		log_info("media: forwarded in the kernel by ksip.ko (relay ports %u-%u)",
			 d->cfg.rtp_port_min, d->cfg.rtp_port_max);
		snprintf(d->media_why, sizeof(d->media_why), "ksip.ko answers");
		if (media_adopt(&d->media) < 0)
			log_warn("could not look for kernel flows of an earlier run");
	} else {
		log_info("media: relayed in userspace by ksipd, not in the kernel (%s); "
			 "relay ports %u-%u", err, d->cfg.rtp_port_min, d->cfg.rtp_port_max);
		snprintf(d->media_why, sizeof(d->media_why), "%s", err);
	}
	return 0;
}

/*
 * While the nftables shield is up, each ban is mirrored into ban4 (an IPv4
 * address) or ban6 (an IPv6 /64, as an interval) with its remaining time,
 * so the kernel drops the source before ksipd reads a byte; an ended ban
 * leaves the set at once.
 */
static void mirror_ban(struct ksipd *d, enum shield_ban_event ev, const struct shield_ban_view *b)
{
	struct sockaddr_storage ss = { 0 };
	time_t now = time(NULL);

	if (b->addr.family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		sin->sin_addr.s_addr = htonl((uint32_t)b->addr.prefix);
	} else if (b->addr.family == AF_INET6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_family = AF_INET6;
		for (int i = 0; i < 8; i++)	/* the /64; nft_shield_ban() bans all of it */
			sin6->sin6_addr.s6_addr[i] = (uint8_t)(b->addr.prefix >> (56 - 8 * i));
	} else {
		return;
	}
	if (ev == SHIELD_BAN_ADDED || ev == SHIELD_BAN_EXTENDED) {
		if (b->expires > now)
			nft_shield_ban(d->nft, &ss, (uint32_t)(b->expires - now));
	} else {
		nft_shield_unban(d->nft, &ss);
	}
}

static const char *ban_reason_name(enum shield_ban_reason r)
{
	return r == SHIELD_BAN_OPERATOR ? "operator" : "auth_failures";
}

/* Every ban added or ended goes to the store's writer queue: a queued write, never the disk here. */
static void persist_ban(struct ksipd *d, enum shield_ban_event ev, const struct shield_ban_view *b)
{
	struct ban_record r = { .added = b->added, .until = b->expires };

	shield_addr_format(&b->addr, r.source, sizeof(r.source));
	if (ev != SHIELD_BAN_ADDED && ev != SHIELD_BAN_EXTENDED) {
		store_queue_unban(d->store, r.source);
		return;
	}
	snprintf(r.reason, sizeof(r.reason), "%s", ban_reason_name(b->reason));
	snprintf(r.note, sizeof(r.note), "%s", b->note);
	store_queue_ban(d->store, &r);
}

/*
 * The ban list's one observer (any thread, no shield lock held): the store
 * keeps every ban across restarts, and nftables, when it is up, enforces it.
 */
static void on_ban(void *arg, enum shield_ban_event ev, const struct shield_ban_view *b)
{
	struct ksipd *d = arg;

	persist_ban(d, ev, b);
	if (d->nft)
		mirror_ban(d, ev, b);
}

/* A ban from the store: back in the list with the time it has left (on_ban mirrors it). */
static int load_ban(void *arg, const struct ban_record *r)
{
	struct ksipd *d = arg;
	struct shield_addr k;
	time_t now = time(NULL);
	bool op = !strcmp(r->reason, "operator");

	if (shield_addr_parse(r->source, &k) || r->until <= now) {
		log_warn("database %s: ban of '%s' not understood, left out", d->cfg.database,
			 r->source);
		return -1;
	}
	/* Never longer than the longest ban ksipd gives, whatever the row says. */
	shield_ban_add(d->shield, &k, now,
		       (uint32_t)(r->until - now > KSIP_BAN_MAX_SECONDS ? KSIP_BAN_MAX_SECONDS :
				  r->until - now),
		       op ? SHIELD_BAN_OPERATOR : SHIELD_BAN_AUTH, op ? r->note : NULL);
	return 0;
}

/* allow4/allow6: trusted_peers and shield_allow, never banned nor limited in the kernel either. */
static void allow_trusted(struct ksipd *d)
{
	struct ksip_cidr all[2 * CONFIG_MAX_CIDRS];
	size_t n = 0;

	for (int i = 0; i < d->cfg.n_trusted_peers; i++)
		all[n++] = d->cfg.trusted_peers[i];
	for (int i = 0; i < d->cfg.n_shield_allow; i++)
		all[n++] = d->cfg.shield_allow[i];
	if (nft_shield_allow_set(d->nft, all, n))
		log_warn("shield: cannot load trusted_peers into the allow sets");
}

/*
 * The nftables table when the configuration asks for it and the kernel
 * lets us; else the userspace shield. Never a reason not to start.
 */
static void choose_shield(struct ksipd *d)
{
	char err[512];

	d->shield_mode = d->cfg.shield;
	if (d->shield_mode == KSIP_SHIELD_AUTO || d->shield_mode == KSIP_SHIELD_NFTABLES) {
		d->nft = nft_shield_open(&d->cfg, err, sizeof(err));
		if (d->nft) {
			d->shield_mode = KSIP_SHIELD_NFTABLES;
			log_info("shield: nftables, table inet %s (bans and rate meter in the kernel)",
				 nft_shield_table(d->nft));
			snprintf(d->shield_why, sizeof(d->shield_why), "table inet %s",
				 nft_shield_table(d->nft));
			allow_trusted(d);
			return;
		}
		log_warn("shield: nftables unavailable, falling back to userspace: %s", err);
		snprintf(d->shield_why, sizeof(d->shield_why), "nftables unavailable: %s", err);
		d->shield_mode = KSIP_SHIELD_USERSPACE;
	} else {
		snprintf(d->shield_why, sizeof(d->shield_why), "shield = %s in the configuration",
			 config_shield_name(d->shield_mode));
	}
	log_info("shield: %s", config_shield_name(d->shield_mode));
}

/* After choose_shield(): the bans of the last run, back in the list and (on_ban) the kernel. */
static int restore_bans(struct ksipd *d)
{
	int n;

	shield_ban_observe(d->shield, on_ban, d);
	n = store_load_bans(d->store, time(NULL), load_ban, d);
	if (n < 0)
		return -1;
	if (n)
		log_info("%d bans restored from %s", n, d->cfg.database);
	return 0;
}

/* Someone deleted our table (`nft flush ruleset`): build it again, saying so once per event. */
static void watch_shield(struct ksipd *d)
{
	struct pollfd p;

	if (!d->nft)
		return;
	p = (struct pollfd){ .fd = nft_shield_monitor_fd(d->nft), .events = POLLIN };
	if (poll(&p, 1, 0) <= 0 || !nft_shield_monitor_read(d->nft))
		return;
	log_warn("shield: table inet %s was changed or deleted by someone else; restoring it",
		 nft_shield_table(d->nft));
	if (nft_shield_restore(d->nft) == 0)
		log_info("shield: table inet %s restored", nft_shield_table(d->nft));
}

/*
 * READY=1 for systemd (Type=notify), with one line for STATUS= (`systemctl
 * status ksipd`): what ksipd serves and where media and the shield run.
 */
static void notify_ready(const struct ksipd *d)
{
	sd_notifyf(0, "READY=1\nSTATUS=ready: realm '%s', %d workers, %d listen addresses, "
		   "media %s, shield %s", d->cfg.realm, d->nworkers, d->cfg.nlisten,
		   d->media.kernel ? "kernel" : "userspace", config_shield_name(d->shield_mode));
}

/* The file as last loaded: a reload compares the new file with it, not with what runs. */
static struct ksip_config loaded_cfg;

/* trusted_peers and shield_allow: read by the workers under their own lock, so hold them all. */
static void reload_trusted(struct ksipd *d, const struct ksip_config *nc)
{
	for (int i = 0; i < d->nworkers; i++)
		worker_lock(d->workers[i].w);
	memcpy(d->cfg.trusted_peers, nc->trusted_peers, sizeof(nc->trusted_peers));
	d->cfg.n_trusted_peers = nc->n_trusted_peers;
	memcpy(d->cfg.shield_allow, nc->shield_allow, sizeof(nc->shield_allow));
	d->cfg.n_shield_allow = nc->n_shield_allow;
	for (int i = d->nworkers - 1; i >= 0; i--)
		worker_unlock(d->workers[i].w);
	if (d->nft)
		allow_trusted(d);
}

/*
 * SIGHUP (systemctl reload): what changes without dropping a call or a
 * connection. A file that does not load changes nothing. Every other key
 * keeps its running value until a restart; the log says when one differs.
 */
static void reload(struct ksipd *d, const char *file)
{
	static const char *const level_names[] = { "error", "warn", "info", "debug" };
	struct ksip_config *nc;
	char err[2048];
	int n;

	if (!file) {
		log_warn("SIGHUP: no --config file, nothing to reload");
		return;
	}
	nc = malloc(sizeof(*nc));
	if (!nc) {
		log_err("SIGHUP: out of memory, configuration kept");
		return;
	}
	sd_notify(0, "RELOADING=1");
	config_defaults(nc);
	if (config_load(nc, file, err, sizeof(err))) {
		for (char *l = strtok(err, "\n"); l; l = strtok(NULL, "\n"))
			log_err("SIGHUP: %s", l);
		log_err("SIGHUP: %s not reloaded: the running configuration stays", file);
		goto out;
	}
	d->cfg.log_level = nc->log_level;
	/* A plain int the other threads read before each line: they see the new level soon enough. */
	log_current_level = (enum log_level)nc->log_level;
	reload_trusted(d, nc);
	n = store_load_users(d->store, d->cfg.realm, load_user, d->users);
	/* A renewed certificate, at the paths named at start; open TLS connections keep theirs. */
	if (transport_tls_reload(d->transport, &d->cfg))
		log_err("SIGHUP: TLS certificate not reloaded: the one in use stays");
	/* Any other difference waits for a restart: say so, and keep the old file's values for it. */
	loaded_cfg.log_level = nc->log_level;
	memcpy(loaded_cfg.trusted_peers, nc->trusted_peers, sizeof(nc->trusted_peers));
	loaded_cfg.n_trusted_peers = nc->n_trusted_peers;
	memcpy(loaded_cfg.shield_allow, nc->shield_allow, sizeof(nc->shield_allow));
	loaded_cfg.n_shield_allow = nc->n_shield_allow;
	if (memcmp(nc, &loaded_cfg, sizeof(*nc)))
		log_warn("SIGHUP: %s changes keys that take effect only at a restart", file);
	log_info("SIGHUP: %s reloaded: log_level %s, %d trusted_peers, %d shield_allow, %d users",
		 file, level_names[log_current_level], d->cfg.n_trusted_peers,
		 d->cfg.n_shield_allow, n);
out:
	free(nc);
	notify_ready(d);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check-config", no_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct ksipd d = { 0 };
	const char *config_file = NULL;
	bool check_only = false;
	struct control *ctl;
	struct metrics *metrics;
	int metrics_failed;
	sigset_t sigs;
	char err[2048];
	int opt, sig = 0, rc = 1;
	uint64_t watchdog_usec = 0;
	bool watchdog = false;

	while ((opt = getopt_long(argc, argv, "c:kh", opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			config_file = optarg;
			break;
		case 'k':
			check_only = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	config_defaults(&d.cfg);
	if (config_file && config_load(&d.cfg, config_file, err, sizeof(err))) {
		/* One line per bad line of the file. */
		for (char *l = strtok(err, "\n"); l; l = strtok(NULL, "\n"))
			fprintf(stderr, "ksipd: %s\n", l);
		return 2;
	}
	if (check_only) {
		printf("ksipd: configuration ok\n");
		return 0;
	}
	loaded_cfg = d.cfg;
	log_init((enum log_level)d.cfg.log_level, d.cfg.syslog);
	d.started = time(NULL);
	/* Before anything opens: every connection, relay socket and SQLite file counts against it. */
	fdlimit_raise();

	/* Signals are taken synchronously below; worker threads inherit the mask. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (open_state(&d) || open_shield(&d) || choose_media(&d) || media_check_addresses(&d.cfg))
		goto out;
	choose_shield(&d);
	if (restore_bans(&d) || open_workers(&d))
		goto out_workers;
	ctl = control_start(&d);
	if (!ctl)
		goto out_workers;
	metrics = metrics_start(&d, &metrics_failed);
	if (metrics_failed || transport_start(d.transport)) {
		metrics_stop(metrics);
		control_stop(ctl);
		goto out_workers;
	}
	log_info("ksipd ready: realm '%s', %d workers, media %s", d.cfg.realm, d.nworkers,
		 d.media.kernel ? "in the kernel" : "in userspace");
	/* Sockets bound, store open, media chosen: systemd may start what depends on us. */
	notify_ready(&d);
	watchdog = sd_watchdog_enabled(0, &watchdog_usec) > 0;

	/* Housekeeping on the main thread: expire bindings and nonces every second until told to stop. */
	for (;;) {
		struct timespec one = { 1, 0 };
		int n;

		sig = sigtimedwait(&sigs, NULL, &one);
		if (sig == SIGINT || sig == SIGTERM)
			break;
		if (sig == SIGHUP)
			reload(&d, config_file);
		/* From this loop: a main thread stuck elsewhere stops it, and systemd restarts us. */
		if (watchdog)
			sd_notify(0, "WATCHDOG=1");
		n = location_expire(d.loc, time(NULL));
		if (n)
			log_debug("%d bindings expired", n);
		users_nonces_expire(d.users, time(NULL));
		n = shield_ban_expire(d.shield, time(NULL));
		if (n)
			log_info("%d bans ended", n);
		if (time(NULL) % 5 == 0)
			media_adopt_sweep(&d.media);
		watch_shield(&d);
	}
	log_info("signal %d: shutting down", sig);
	sd_notify(0, "STOPPING=1");
	transport_stop(d.transport);
	metrics_stop(metrics);
	control_stop(ctl);
	rc = 0;
out_workers:
	close_workers(&d);
out:
	nft_shield_close(d.nft, d.cfg.nft_keep_on_stop);
	store_close(d.store);	/* writes what is still queued */
	media_env_release(&d.media);
	port_pool_free(d.media.ports);
	location_free(d.loc);
	users_free(d.users);
	conf_free(d.conf);
	rooms_free(d.rooms);
	pages_free(d.pages);
	nonce_key_free(d.auth.nonce);
	explicit_bzero(d.route_key, sizeof(d.route_key));
	shield_free(d.shield);
	if (rc)
		log_err("ksipd failed to start");
	return rc;
}
