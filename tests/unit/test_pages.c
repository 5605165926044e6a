// SPDX-License-Identifier: GPL-2.0
/*
 * Paging groups: the in-memory table (put, replace, get, delete, sorted
 * listing, the PAGE_GROUPS_MAX cap) and the SQLite backend's round trip
 * through the store (a database in a temporary directory, removed at the
 * end): groups saved, replaced and deleted, read back after reopening.
 * Hostile: member rows edited by hand into nonsense or with no group,
 * more rows for one group than PAGE_MEMBERS_MAX.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/pages.h"
#include "store/store.h"
#include "tap.h"

static char dir[] = "/tmp/pg-unit-XXXXXX";
static char path[256];

static struct page_record group(const char *name, unsigned int n)
{
	struct page_record g;

	memset(&g, 0, sizeof(g));
	snprintf(g.name, sizeof(g.name), "%s", name);
	for (unsigned int i = 0; i < n; i++)
		snprintf(g.member[i], sizeof(g.member[0]), "u%u", i);
	g.n = n;
	return g;
}

struct seen {
	int n;
	char name[8][PAGE_NAME_MAX];
	unsigned int members[8];
};

static void take(void *ctx, const struct page_record *g)
{
	struct seen *s = ctx;

	if (s->n < 8) {
		snprintf(s->name[s->n], sizeof(s->name[0]), "%s", g->name);
		s->members[s->n++] = g->n;
	}
}

static int load(void *ctx, const struct page_record *g)
{
	take(ctx, g);
	return 0;
}

static void test_table(void)
{
	struct page_table *t = pages_new();
	struct page_record g = group("lobby", 3), out;
	struct seen s = { 0 };
	int refused = 0;

	ok(t && pages_put(t, &g) == 0 && pages_count(t) == 1, "a group goes in");
	ok(pages_get(t, "lobby", &out) && out.n == 3 && !strcmp(out.member[2], "u2"),
	   "and comes out with its members");
	ok(!pages_get(t, "lobbyx", NULL) && !pages_get(t, "", NULL), "other names are no group");
	g = group("lobby", 16);
	ok(pages_put(t, &g) == 0 && pages_count(t) == 1 && pages_get(t, "lobby", &out) && out.n == 16,
	   "put again replaces it (16 members)");
	g = group("annex", 1);
	pages_put(t, &g);
	g = group("hall", 2);
	pages_put(t, &g);
	pages_foreach(t, take, &s);
	ok(s.n == 3 && !strcmp(s.name[0], "annex") && !strcmp(s.name[1], "hall") &&
	   !strcmp(s.name[2], "lobby"), "listed sorted by name");
	ok(pages_del(t, "hall") && !pages_del(t, "hall") && pages_count(t) == 2,
	   "deleted once; a second delete finds nothing");
	for (int i = 0; i < PAGE_GROUPS_MAX + 5; i++) {
		char name[32];

		snprintf(name, sizeof(name), "g%d", i);
		g = group(name, 1);
		refused += pages_put(t, &g) != 0;
	}
	ok(pages_count(t) == PAGE_GROUPS_MAX && refused == 7,
	   "at most PAGE_GROUPS_MAX groups: the rest are refused (%d)", refused);
	g = group("lobby", 2);
	ok(pages_put(t, &g) == 0, "replacing one at the cap still works");
	pages_free(t);
}

static void test_sqlite(void)
{
	char err[256];
	struct store *s = store_open(&store_backend_sqlite, path, 10, err, sizeof(err));
	struct page_record g;
	struct seen seen = { 0 };
	sqlite3 *db;

	if (!ok(s != NULL, "store opens")) {
		diag("%s", err);
		return;
	}
	g = group("lobby", 3);
	ok(store_page_put(s, &g) == 0, "a group is saved");
	g = group("lobby", 2);
	ok(store_page_put(s, &g) == 0, "and saved again with fewer members");
	g = group("annex", 16);
	ok(store_page_put(s, &g) == 0, "a second group of 16");
	g = group("gone", 1);
	store_page_put(s, &g);
	ok(store_page_del(s, "gone") == 0, "a third is deleted");
	store_close(s);

	/* Hand edits: a member row whose group is gone, an empty member, one too many members. */
	if (sqlite3_open(path, &db) == SQLITE_OK) {
		sqlite3_exec(db, "INSERT INTO page_members VALUES('orphan','u1');"
			     "INSERT INTO page_groups VALUES('empty');"
			     "INSERT INTO page_members VALUES('annex','zz');", NULL, NULL, NULL);
		sqlite3_close(db);
	}
	s = store_open(&store_backend_sqlite, path, 10, err, sizeof(err));
	if (!ok(s != NULL, "store opens again"))
		return;
	ok(store_load_pages(s, load, &seen) == 2, "two groups come back");
	ok(seen.n == 2 && !strcmp(seen.name[0], "annex") && seen.members[0] == PAGE_MEMBERS_MAX &&
	   !strcmp(seen.name[1], "lobby") && seen.members[1] == 2,
	   "with their members; a 17th row is left out, as are members of no group and a group of none");
	store_close(s);
}

int main(void)
{
	if (!mkdtemp(dir))
		return 1;
	snprintf(path, sizeof(path), "%s/ksip.db", dir);
	test_table();
	test_sqlite();
	unlink(path);
	{
		char p2[300];

		snprintf(p2, sizeof(p2), "%s-wal", path);
		unlink(p2);
		snprintf(p2, sizeof(p2), "%s-shm", path);
		unlink(p2);
	}
	rmdir(dir);
	return tap_done();
}
