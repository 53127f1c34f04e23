/*
 * partitions.c: weekly partitions, what `setup-socorro.sh admin` had
 * crontabber's WeeklyReportsPartitionsCronApp do.
 *
 * For each row of report_partition_info, in build_order: the partitions
 * for the week holding today (or --start) and the next --weeks weeks,
 * named <table>_YYYYMMDD after the week's Monday, made with declarative
 * range partitioning on partition_column (timetype DATE or TIMESTAMPTZ,
 * weeks from Monday 00:00 UTC).  Each partition gets the row's keys as
 * its primary key, one index per element of indexes, and one foreign key
 * per element of fkeys ("(col) REFERENCES other(col)"), as the original
 * did for its inherited tables.  A partition that exists is left alone.
 * They are made as the rw role, so its default privileges (SELECT for
 * the ro role) apply.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "exits.h"
#include "setup-postgres.h"
#include "week.h"

struct partinfo {
	const char *table, *column, *timetype;
	json_t *keys, *indexes, *fkeys;
	bool date; /* DATE, else TIMESTAMPTZ */
};

static json_t *
json_array_of(struct run *r, const char *text, const char *table, const char *col)
{
	json_error_t e;
	if (text == NULL)
		return json_array();
	json_t *a = json_loads(text, JSON_DECODE_ANY, &e);
	if (a == NULL || !json_is_array(a))
		log_die(r->lg, EX_DATAERR, "report_partition_info row %s: %s is not a text array",
		    table, col);
	for (size_t i = 0; i < json_array_size(a); i++)
		if (!json_is_string(json_array_get(a, i)))
			log_die(r->lg, EX_DATAERR, "report_partition_info row %s: %s holds a "
			    "non-text element", table, col);
	return a;
}

/* check_parent: the table must exist and be range-partitioned. */
static void
check_parent(struct run *r, const struct partinfo *p)
{
	struct pg_result res;
	struct buf sql;
	pg_result_init(&res);
	buf_init(&sql, 4096);
	buf_puts(&sql, "SELECT c.relkind FROM pg_class c WHERE c.oid = to_regclass(");
	q_literal(r, &sql, "public.");
	buf_puts(&sql, " || quote_ident(");
	q_literal(r, &sql, p->table);
	buf_puts(&sql, "))");
	sql_query(r, buf_str(&sql), &res);
	if (res.nrows == 0)
		log_die(r->lg, EX_DATAERR, "report_partition_info names table %s, which does "
		    "not exist in %s", p->table, r->database);
	if (strcmp(pg_value(&res, 0, 0), "p") != 0)
		log_die(r->lg, EX_DATAERR, "report_partition_info names table %s, which is not "
		    "partitioned (it needs PARTITION BY RANGE (%s))", p->table, p->column);
	pg_result_free(&res);
	buf_free(&sql);
}

static void
append_list(struct run *r, struct buf *b, json_t *a, const char *sep)
{
	for (size_t i = 0; i < json_array_size(a); i++) {
		if (i > 0)
			buf_puts(b, sep);
		buf_puts(b, json_string_value(json_array_get(a, i)));
	}
	(void)r;
}

/* partition_sql: the statements that make one week's partition. */
static void
partition_sql(struct run *r, const struct partinfo *p, const char *name, long monday,
    struct buf *sql)
{
	int y, m, d, y2, m2, d2;
	week_civil(monday, &y, &m, &d);
	week_civil(monday + 7, &y2, &m2, &d2);
	const char *t = p->date ? "" : " 00:00:00+00";
	buf_puts(sql, "BEGIN;\nSET LOCAL ROLE ");
	q_ident(r, sql, r->rw_role);
	buf_puts(sql, ";\nCREATE TABLE ");
	q_ident(r, sql, name);
	buf_puts(sql, " PARTITION OF ");
	q_ident(r, sql, p->table);
	buf_printf(sql, " FOR VALUES FROM ('%04d-%02d-%02d%s') TO ('%04d-%02d-%02d%s');\n", y, m,
	    d, t, y2, m2, d2, t);
	if (json_array_size(p->keys) > 0) {
		buf_puts(sql, "ALTER TABLE ");
		q_ident(r, sql, name);
		buf_puts(sql, " ADD PRIMARY KEY (");
		append_list(r, sql, p->keys, ", ");
		buf_puts(sql, ");\n");
	}
	for (size_t i = 0; i < json_array_size(p->indexes); i++) {
		buf_puts(sql, "CREATE INDEX ON ");
		q_ident(r, sql, name);
		buf_printf(sql, " (%s);\n", json_string_value(json_array_get(p->indexes, i)));
	}
	for (size_t i = 0; i < json_array_size(p->fkeys); i++) {
		buf_puts(sql, "ALTER TABLE ");
		q_ident(r, sql, name);
		buf_printf(sql, " ADD FOREIGN KEY %s;\n",
		    json_string_value(json_array_get(p->fkeys, i)));
	}
	buf_puts(sql, "COMMIT;");
}

static bool
exists(struct run *r, const char *name)
{
	struct pg_result res;
	struct buf sql;
	pg_result_init(&res);
	buf_init(&sql, 4096);
	buf_puts(&sql, "SELECT to_regclass('public.' || quote_ident(");
	q_literal(r, &sql, name);
	buf_puts(&sql, ")) IS NOT NULL");
	sql_query(r, buf_str(&sql), &res);
	bool yes = strcmp(pg_value(&res, 0, 0), "t") == 0;
	pg_result_free(&res);
	buf_free(&sql);
	return yes;
}

static void
ensure_table_partitions(struct run *r, const struct partinfo *p)
{
	long monday = week_monday(r->start_day);
	struct buf sql;
	buf_init(&sql, 1 << 20);
	check_parent(r, p);
	for (int w = 0; w <= r->weeks; w++, monday += 7) {
		char name[128];
		int y, m, d;
		week_civil(monday, &y, &m, &d);
		if (str_fmt(name, sizeof(name), "%s_%04d%02d%02d", p->table, y, m, d) == -1 ||
		    strlen(name) > 63)
			log_die(r->lg, EX_DATAERR, "report_partition_info: table name %s too long "
			    "for its partitions' names (63 bytes at most)", p->table);
		if (exists(r, name)) {
			log_debug(r->lg, "partition %s exists", name);
			continue;
		}
		buf_reset(&sql);
		partition_sql(r, p, name, monday, &sql);
		sql_change(r, buf_str(&sql), NULL, "created partition %s of %s", name, p->table);
	}
	buf_free(&sql);
}

void
ensure_partitions(struct run *r)
{
	struct pg_result res;
	pg_result_init(&res);
	sql_query(r, "SELECT to_regclass('public.report_partition_info') IS NOT NULL", &res);
	if (strcmp(pg_value(&res, 0, 0), "t") != 0) {
		plan_note(r, "no report_partition_info table yet: its rows decide the partitions");
		log_debug(r->lg, "no report_partition_info table: no partitions to make");
		pg_result_free(&res);
		return;
	}
	sql_query(r, "SELECT table_name, partition_column, timetype, array_to_json(keys), "
		     "array_to_json(indexes), array_to_json(fkeys) FROM report_partition_info "
		     "ORDER BY build_order, table_name", &res);
	for (size_t i = 0; i < res.nrows; i++) {
		struct partinfo p = { .table = pg_value(&res, i, 0), .column = pg_value(&res, i, 1),
			.timetype = pg_value(&res, i, 2) };
		if (p.table == NULL || p.column == NULL || p.timetype == NULL)
			log_die(r->lg, EX_DATAERR, "report_partition_info: row %zu has a NULL "
			    "table_name, partition_column or timetype", i + 1);
		if (strcasecmp(p.timetype, "DATE") != 0 && strcasecmp(p.timetype, "TIMESTAMPTZ") != 0)
			log_die(r->lg, EX_DATAERR, "report_partition_info row %s: timetype %s; use "
			    "DATE or TIMESTAMPTZ", p.table, p.timetype);
		p.date = strcasecmp(p.timetype, "DATE") == 0;
		p.keys = json_array_of(r, pg_value(&res, i, 3), p.table, "keys");
		p.indexes = json_array_of(r, pg_value(&res, i, 4), p.table, "indexes");
		p.fkeys = json_array_of(r, pg_value(&res, i, 5), p.table, "fkeys");
		ensure_table_partitions(r, &p);
		json_decref(p.keys);
		json_decref(p.indexes);
		json_decref(p.fkeys);
	}
	pg_result_free(&res);
}
