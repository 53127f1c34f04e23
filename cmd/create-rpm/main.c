/*
 * create-rpm: build an RPM from a staged tree, sign it, and publish a yum
 * repository of RPMs to S3, with nothing else installed.
 *
 * It replaces the original create_rpm: fpm (Ruby) to package a staged
 * tree, `rpm --addsign` with gpg to sign it, createrepo for the yum
 * metadata and `aws s3 sync` to publish it.  The package format, the
 * OpenPGP signatures and the repodata are written here; the package
 * verifies and installs with rpm 4.11 (CentOS 7) and rpm 4.18.
 *
 *	rpm=$(create-rpm --spec etc/socorro.rpm.ini --root build/stage -o dist)
 *	create-rpm --export-key "$KEY" --key-uid "Socorro <ops@example.com>" >RPM-GPG-KEY
 *	cp "$rpm" repo/ && create-rpm --repo repo --sign-repo --publish s3://bucket/el7
 *
 * usage: create-rpm [-qv] [--dry-run] --root DIR [--spec FILE] [PACKAGE FLAGS]
 *                   [-o OUTDIR] [--sign-key FILE [--sign-key-created TIME]]
 *        create-rpm [-qv] --export-key FILE [--key-uid UID] [--sign-key-created TIME]
 *        create-rpm [-qv] [--dry-run] --repo DIR [--sign-repo --sign-key FILE]
 *                   [--publish s3://BUCKET[/PREFIX] [--region REGION]]
 *
 * Build: package every file and symlink under --root (as PREFIX/...),
 * write NAME-VERSION-RELEASE.ARCH.rpm into OUTDIR (default .) and print
 * its path.  PACKAGE FLAGS override the spec's [package] and [depends]:
 *   --name --version (or --pkg-version) --release --epoch --arch --summary --description
 *   --license --url --vendor --packager --group --prefix
 *   --requires/--provides/--conflicts/--obsoletes "NAME [OP VERSION], ..."
 *   --pre/--post/--preun/--postun FILE   scriptlets (/bin/sh)
 *   --attr /PATH:KEY=VALUE[,...]         user group mode config doc dir ghost
 *   --gzip-level N                       payload compression, default 6
 * With SOURCE_DATE_EPOCH set, mtimes are clamped to it and the build
 * time and host are fixed: two runs give byte-identical packages.
 *
 * Sign: --sign-key FILE (or $RPM_SIGN_KEY_FILE), an unencrypted RSA
 * private key in PEM (PKCS#1 or PKCS#8).  The OpenPGP key id comes from
 * the key and its creation time, --sign-key-created (or
 * $RPM_SIGN_KEY_CREATED; seconds since 1970 or YYYY-MM-DD; default
 * 2020-01-01).  --export-key FILE prints the public key, ASCII-armored,
 * with a self-signed user id (--key-uid, default "create-rpm"), for
 * `rpm --import` and yum's gpgkey.
 *
 * Repo: --repo DIR (re)writes DIR/repodata for the *.rpm in DIR, as
 * createrepo does, and prints the path of repomd.xml; --sign-repo adds
 * repomd.xml.asc.  --publish uploads DIR to S3: what differs from the
 * bucket's listing (size and checksum), packages first, repodata last.
 * S3: the usual AWS credentials chain; AWS_ENDPOINT_URL(_S3) for an
 * S3-compatible store (path-style addressing then).
 *
 * Exit status: 0 done (also "nothing to change"); 64 usage; 65 bad input
 * (spec line, tree, key); 66 missing input; 69 S3 unavailable; 73/74
 * cannot write; 75 timeout; 77 S3 refused the credentials; 78 no AWS
 * region or credentials.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "cli.h"
#include "create-rpm.h"
#include "exits.h"
#include "log.h"

static const char usage_text[] =
    "usage: create-rpm [-qv] [--dry-run] --root DIR [--spec FILE] [PACKAGE FLAGS]\n"
    "                  [-o OUTDIR] [--sign-key FILE [--sign-key-created TIME]]\n"
    "       create-rpm [-qv] --export-key FILE [--key-uid UID] [--sign-key-created TIME]\n"
    "       create-rpm [-qv] [--dry-run] --repo DIR [--sign-repo --sign-key FILE]\n"
    "                  [--publish s3://BUCKET[/PREFIX] [--region REGION]]\n"
    "\n"
    "  --root DIR            the staged tree to package\n"
    "  --spec FILE           INI spec: [package] [depends] [scripts] [/PATH]\n"
    "  -o, --output-dir DIR  where the .rpm goes (default .)\n"
    "  --name --version --release --epoch --arch --summary --description\n"
    "  --license --url --vendor --packager --group --prefix VALUE\n"
    "  --requires --provides --conflicts --obsoletes \"NAME [OP VERSION], ...\"\n"
    "  --pre --post --preun --postun FILE   scriptlets\n"
    "  --attr /PATH:KEY=VALUE[,...]         user group mode config doc dir ghost\n"
    "  --gzip-level N        payload compression level (default 6)\n"
    "  --sign-key FILE       RSA private key, PEM ($RPM_SIGN_KEY_FILE)\n"
    "  --sign-key-created T  the OpenPGP key's creation time (default 2020-01-01)\n"
    "  --export-key FILE     print the OpenPGP public key of FILE\n"
    "  --key-uid UID         user id of the exported key\n"
    "  --repo DIR            write DIR/repodata for the RPMs in DIR\n"
    "  --sign-repo           also write repodata/repomd.xml.asc\n"
    "  --publish s3://B/P    upload the repo: packages first, repodata last\n"
    "  --region REGION       S3 region (else the AWS chain)\n"
    "  --dry-run             print the plan, change nothing\n"
    "  -v, --verbose         more detail (-vv: HTTP traces)\n"
    "  -q, --quiet           only errors on stderr\n"
    "  -h, --help            this text\n"
    "  -V, --version         version and linked libraries\n";

static const char *const linked_libs[] = { "bearssl", "zlib", "libinih", "curl", "expat", NULL };

#define DEFAULT_KEY_CREATED 1577836800L /* 2020-01-01T00:00:00Z */
#define MAX_FLAGS 256

enum {
	OPT_ROOT = CLI_FIRST_PRIVATE, OPT_SPEC, OPT_PKG, OPT_DEP, OPT_SCRIPT, OPT_ATTR,
	OPT_LEVEL, OPT_SIGN_KEY, OPT_KEY_CREATED, OPT_EXPORT, OPT_UID, OPT_REPO, OPT_SIGN_REPO,
	OPT_PUBLISH, OPT_REGION, OPT_VERSION
};

/* A package flag, kept in order and applied after the spec file. */
struct flag {
	const char *name; /* long option name */
	const char *value;
};

struct options {
	struct cli_common common;
	const char *root, *spec, *outdir, *sign_key, *key_created, *export_key, *uid, *repo,
	    *publish, *region;
	bool sign_repo;
	int level;
	struct flag flags[MAX_FLAGS];
	int nflags;
};

/* The one temp file a signal must not leave behind (a package being
   written); the payload's own temp file is unlinked from the start. */
static char cleanup_path[4200];
static volatile sig_atomic_t cleanup_armed;

static void
on_signal(int sig)
{
	if (cleanup_armed)
		unlink(cleanup_path);
	signal(sig, SIG_DFL);
	raise(sig);
}

void
cleanup_on_signal(const char *path)
{
	cleanup_armed = 0;
	if (path && str_copy(cleanup_path, sizeof(cleanup_path), path) == 0)
		cleanup_armed = 1;
}

static const struct option longopts[] = {
	CLI_OPT_HELP, CLI_OPT_VERBOSE, CLI_OPT_QUIET, CLI_OPT_DRY_RUN,
	/* --version alone prints ours; --version V names the package's. */
	{ "version", optional_argument, NULL, OPT_VERSION },
	{ "pkg-version", required_argument, NULL, OPT_PKG },
	{ "root", required_argument, NULL, OPT_ROOT },
	{ "spec", required_argument, NULL, OPT_SPEC },
	{ "output-dir", required_argument, NULL, 'o' },
	{ "name", required_argument, NULL, OPT_PKG },
	{ "release", required_argument, NULL, OPT_PKG },
	{ "epoch", required_argument, NULL, OPT_PKG },
	{ "arch", required_argument, NULL, OPT_PKG },
	{ "summary", required_argument, NULL, OPT_PKG },
	{ "description", required_argument, NULL, OPT_PKG },
	{ "license", required_argument, NULL, OPT_PKG },
	{ "url", required_argument, NULL, OPT_PKG },
	{ "vendor", required_argument, NULL, OPT_PKG },
	{ "packager", required_argument, NULL, OPT_PKG },
	{ "group", required_argument, NULL, OPT_PKG },
	{ "prefix", required_argument, NULL, OPT_PKG },
	{ "requires", required_argument, NULL, OPT_DEP },
	{ "provides", required_argument, NULL, OPT_DEP },
	{ "conflicts", required_argument, NULL, OPT_DEP },
	{ "obsoletes", required_argument, NULL, OPT_DEP },
	{ "pre", required_argument, NULL, OPT_SCRIPT },
	{ "post", required_argument, NULL, OPT_SCRIPT },
	{ "preun", required_argument, NULL, OPT_SCRIPT },
	{ "postun", required_argument, NULL, OPT_SCRIPT },
	{ "attr", required_argument, NULL, OPT_ATTR },
	{ "gzip-level", required_argument, NULL, OPT_LEVEL },
	{ "sign-key", required_argument, NULL, OPT_SIGN_KEY },
	{ "sign-key-created", required_argument, NULL, OPT_KEY_CREATED },
	{ "export-key", required_argument, NULL, OPT_EXPORT },
	{ "key-uid", required_argument, NULL, OPT_UID },
	{ "repo", required_argument, NULL, OPT_REPO },
	{ "sign-repo", no_argument, NULL, OPT_SIGN_REPO },
	{ "publish", required_argument, NULL, OPT_PUBLISH },
	{ "region", required_argument, NULL, OPT_REGION },
	CLI_OPT_END
};

static void
check_modes(struct options *o, struct log *lg)
{
	int modes = (o->root != NULL) + (o->export_key != NULL) + (o->repo != NULL);
	if (modes != 1)
		cli_exit_usage(lg, usage_text, modes ? "--root, --export-key and --repo do not mix"
				      : "give --root DIR, --export-key FILE or --repo DIR");
	if (o->publish && !o->repo)
		cli_exit_usage(lg, usage_text, "--publish goes with --repo DIR");
	if (o->sign_repo && !o->repo)
		cli_exit_usage(lg, usage_text, "--sign-repo goes with --repo DIR");
	if (!o->root && (o->nflags || o->spec))
		cli_exit_usage(lg, usage_text, "package flags and --spec go with --root DIR");
	if (o->publish && strncmp(o->publish, "s3://", 5) != 0)
		cli_exit_usage(lg, usage_text, "--publish wants s3://BUCKET[/PREFIX]");
	if (o->sign_key == NULL)
		o->sign_key = getenv("RPM_SIGN_KEY_FILE");
	if (o->sign_key && !*o->sign_key)
		o->sign_key = NULL;
	if (o->sign_repo && !o->sign_key)
		cli_exit_usage(lg, usage_text, "--sign-repo needs --sign-key FILE (or RPM_SIGN_KEY_FILE)");
}

static void
parse_args(int argc, char **argv, struct options *o, struct log *lg)
{
	int c, idx;
	cli_common_init(&o->common);
	o->outdir = ".";
	o->level = 6;
	while ((c = getopt_long(argc, argv, "hVvqo:", longopts, &idx)) != -1) {
		if (cli_common_option(&o->common, c, optarg))
			continue;
		long n;
		switch (c) {
		case OPT_VERSION:
			if (optarg == NULL && optind < argc && argv[optind][0] != '-')
				optarg = argv[optind++];
			if (optarg == NULL) {
				o->common.version = true;
				break;
			}
			if (o->nflags == MAX_FLAGS)
				cli_exit_usage(lg, usage_text, "too many package flags");
			o->flags[o->nflags++] = (struct flag){ "version", optarg };
			break;
		case OPT_ROOT: o->root = optarg; break;
		case OPT_SPEC: o->spec = optarg; break;
		case 'o': o->outdir = optarg; break;
		case OPT_PKG:
		case OPT_DEP:
		case OPT_SCRIPT:
		case OPT_ATTR:
			if (o->nflags == MAX_FLAGS)
				cli_exit_usage(lg, usage_text, "too many package flags");
			o->flags[o->nflags++] = (struct flag){ strcmp(longopts[idx].name,
				"pkg-version") ? longopts[idx].name : "version", optarg };
			break;
		case OPT_LEVEL:
			if (str_to_long(optarg, 1, 9, &n) == -1)
				cli_exit_usage(lg, usage_text, "--gzip-level wants 1 to 9");
			o->level = (int)n;
			break;
		case OPT_SIGN_KEY: o->sign_key = optarg; break;
		case OPT_KEY_CREATED: o->key_created = optarg; break;
		case OPT_EXPORT: o->export_key = optarg; break;
		case OPT_UID: o->uid = optarg; break;
		case OPT_REPO: o->repo = optarg; break;
		case OPT_SIGN_REPO: o->sign_repo = true; break;
		case OPT_PUBLISH: o->publish = optarg; break;
		case OPT_REGION: o->region = optarg; break;
		default: cli_exit_usage(lg, usage_text, NULL);
		}
	}
	lg->verbosity = o->common.verbosity;
	cli_exit_if_help(lg, &o->common, usage_text, linked_libs);
	if (optind < argc)
		cli_exit_usage(lg, usage_text, "unexpected argument");
	check_modes(o, lg);
}

static long
source_date_epoch(struct log *lg)
{
	const char *v = getenv("SOURCE_DATE_EPOCH");
	long t;
	if (v == NULL || *v == '\0')
		return -1;
	if (str_to_long(v, 0, 0xffffffffL, &t) == -1)
		log_die(lg, EX_USAGE, "SOURCE_DATE_EPOCH=\"%s\": want seconds since 1970", v);
	return t;
}

static void
load_key(struct options *o, struct log *lg, const char *path, struct pgp_key *k)
{
	long created = DEFAULT_KEY_CREATED;
	const char *c = o->key_created ? o->key_created : getenv("RPM_SIGN_KEY_CREATED");
	if (c && *c && spec_parse_time(c, &created) == -1)
		log_die(lg, EX_USAGE, "--sign-key-created \"%s\": want seconds since 1970 or "
				      "YYYY-MM-DD", c);
	char err[ERR_MAX], fpr[41];
	int r = pgp_key_load(k, path, (uint32_t)created, err, sizeof(err));
	if (r != 0)
		log_die(lg, r, "%s", err);
	pgp_fpr_hex(k, fpr);
	log_debug(lg, "signing key %s: %u-bit RSA, OpenPGP fingerprint %s (key id %s)", path,
	    (unsigned)k->sk.n_bitlen, fpr, fpr + 24);
}

/* apply_flags: the package flags, over what the spec said. */
static int
apply_flags(struct options *o, struct spec *s, char *err, size_t errsize)
{
	static const char *const scripts[NSCRIPTS] = { "pre", "post", "preun", "postun" };
	for (int i = 0; i < o->nflags; i++) {
		const struct flag *f = &o->flags[i];
		int r = 0;
		char msg[ERR_MAX];
		if (!strcmp(f->name, "requires") || !strcmp(f->name, "provides") ||
		    !strcmp(f->name, "conflicts") || !strcmp(f->name, "obsoletes")) {
			struct deps *d = f->name[0] == 'r' ? &s->requires : f->name[0] == 'p' ?
			    &s->provides : f->name[0] == 'c' ? &s->conflicts : &s->obsoletes;
			r = spec_add_deps(d, f->value, msg, sizeof(msg)) ? EX_USAGE : 0;
		} else if (!strcmp(f->name, "attr")) {
			r = spec_add_attr(s, f->value, msg, sizeof(msg)) ? EX_USAGE : 0;
		} else {
			int which = -1;
			for (int j = 0; j < NSCRIPTS; j++)
				if (strcmp(f->name, scripts[j]) == 0)
					which = j;
			if (which >= 0)
				r = spec_script_file(s, which, f->value, msg, sizeof(msg));
			else
				r = spec_set(s, f->name, f->value, msg, sizeof(msg)) ? EX_USAGE : 0;
		}
		if (r != 0) {
			str_fmt_clip(err, errsize, "--%s: %s", f->name, msg);
			return r;
		}
	}
	return 0;
}

static int
do_build(struct options *o, struct log *lg, struct buf *out)
{
	struct spec s;
	struct tree t = { 0 };
	struct pgp_key *key = NULL;
	char err[ERR_MAX];
	spec_init(&s);
	int r = o->spec ? spec_load(&s, o->spec, err, sizeof(err)) : 0;
	if (r == 0)
		r = apply_flags(o, &s, err, sizeof(err));
	if (r == 0)
		r = spec_finish(&s, err, sizeof(err));
	long sde = source_date_epoch(lg);
	if (r == 0)
		r = tree_scan(&t, &s, o->root, sde, err, sizeof(err));
	if (r == 0 && o->sign_key) {
		if ((key = malloc(sizeof(*key))) == NULL)
			log_die(lg, EX_SOFTWARE, "out of memory");
		load_key(o, lg, o->sign_key, key);
	}
	struct build_opts bo = { o->outdir, o->level, sde, key, o->common.dry_run };
	struct buf path;
	buf_init(&path, 8192);
	if (r == 0)
		r = package_build(&s, &t, &bo, lg, &path, err, sizeof(err));
	if (r == 0 && o->common.dry_run) {
		log_info(lg, "dry run: would write %s: %zu files, %llu bytes%s", buf_str(&path), t.n,
		    (unsigned long long)t.total_size, key ? ", signed" : "");
		for (size_t i = 0; i < t.n && log_enabled(lg, LOG_DEBUG); i++)
			log_debug(lg, "  %06o %s:%s %s", (unsigned)t.v[i].mode, t.v[i].user,
			    t.v[i].group, t.v[i].path);
	}
	if (r == 0)
		r = buf_printf(out, "%s\n", buf_str(&path)) ? EX_SOFTWARE : 0;
	else
		log_error(lg, "%s", err);
	if (key) {
		pgp_key_wipe(key);
		free(key);
	}
	buf_free(&path);
	tree_free(&t);
	spec_free(&s);
	return r;
}

static int
do_export(struct options *o, struct log *lg, struct buf *out)
{
	struct pgp_key *k = malloc(sizeof(*k));
	if (k == NULL)
		log_die(lg, EX_SOFTWARE, "out of memory");
	load_key(o, lg, o->export_key, k);
	struct buf pkt;
	buf_init(&pkt, 1u << 16);
	int r = pgp_export(k, o->uid ? o->uid : "create-rpm", k->created, &pkt) == 0 &&
		pgp_armor("PUBLIC KEY BLOCK", (unsigned char *)pkt.data, pkt.len, out) == 0 ?
	    EX_OK : EX_SOFTWARE;
	if (r != 0)
		log_error(lg, "cannot export the public key of %s", o->export_key);
	buf_free(&pkt);
	pgp_key_wipe(k);
	free(k);
	return r;
}

static int
do_repo(struct options *o, struct log *lg, struct buf *out)
{
	struct pgp_key *key = NULL;
	char err[ERR_MAX];
	if (o->sign_repo) {
		if ((key = malloc(sizeof(*key))) == NULL)
			log_die(lg, EX_SOFTWARE, "out of memory");
		load_key(o, lg, o->sign_key, key);
	}
	struct repo_opts ro = { o->repo, key, source_date_epoch(lg), o->common.dry_run };
	int r = repo_update(&ro, lg, err, sizeof(err));
	if (key) {
		pgp_key_wipe(key);
		free(key);
	}
	if (r == 0 && o->publish) {
		struct publish_opts po = { o->repo, o->publish, o->region, o->common.dry_run };
		r = publish_repo(&po, lg, out, err, sizeof(err));
	} else if (r == 0) {
		r = buf_printf(out, "%s/repodata/repomd.xml\n", o->repo) ? EX_SOFTWARE : 0;
	}
	if (r != 0)
		log_error(lg, "%s", err);
	return r;
}

int
main(int argc, char **argv)
{
	struct log lg;
	struct options o;
	memset(&o, 0, sizeof(o));
	log_init(&lg, "create-rpm", stderr);
	parse_args(argc, argv, &o, &lg);
	cli_catch_stop_signals(on_signal);
	struct buf out;
	buf_init(&out, 16u << 20);
	int r;
	if (o.root)
		r = do_build(&o, &lg, &out);
	else if (o.export_key)
		r = do_export(&o, &lg, &out);
	else
		r = do_repo(&o, &lg, &out);
	/* All or nothing: stdout only carries a complete result. */
	if (r == 0)
		fwrite(out.data ? out.data : "", 1, out.len, stdout);
	buf_free(&out);
	return log_finish_stdout(&lg, r);
}
