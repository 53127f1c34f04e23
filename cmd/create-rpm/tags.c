/*
 * tags.c: the main header's tags, as rpmbuild writes them for a binary
 * package (numbers and types from rpm's rpmtag.h; rpm >= 4.14 refuses a
 * known tag with the wrong type).
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "create-rpm.h"

enum {
	TAG_I18NTABLE = 100, TAG_NAME = 1000, TAG_VERSION = 1001, TAG_RELEASE = 1002,
	TAG_EPOCH = 1003, TAG_SUMMARY = 1004, TAG_DESCRIPTION = 1005, TAG_BUILDTIME = 1006,
	TAG_BUILDHOST = 1007, TAG_SIZE = 1009, TAG_VENDOR = 1011, TAG_LICENSE = 1014,
	TAG_PACKAGER = 1015, TAG_GROUP = 1016, TAG_URL = 1020, TAG_OS = 1021, TAG_ARCH = 1022,
	TAG_PREIN = 1023, TAG_FILESIZES = 1028, TAG_FILEMODES = 1030, TAG_FILERDEVS = 1033,
	TAG_FILEMTIMES = 1034, TAG_FILEDIGESTS = 1035, TAG_FILELINKTOS = 1036,
	TAG_FILEFLAGS = 1037, TAG_FILEUSERNAME = 1039, TAG_FILEGROUPNAME = 1040,
	TAG_SOURCERPM = 1044, TAG_FILEVERIFYFLAGS = 1045, TAG_PROVIDENAME = 1047,
	TAG_REQUIREFLAGS = 1048, TAG_REQUIRENAME = 1049, TAG_REQUIREVERSION = 1050,
	TAG_CONFLICTFLAGS = 1053, TAG_CONFLICTNAME = 1054, TAG_CONFLICTVERSION = 1055,
	TAG_RPMVERSION = 1064, TAG_PREINPROG = 1085, TAG_OBSOLETENAME = 1090,
	TAG_FILEDEVICES = 1095, TAG_FILEINODES = 1096, TAG_FILELANGS = 1097,
	TAG_PROVIDEFLAGS = 1112, TAG_PROVIDEVERSION = 1113, TAG_OBSOLETEFLAGS = 1114,
	TAG_OBSOLETEVERSION = 1115, TAG_DIRINDEXES = 1116, TAG_BASENAMES = 1117,
	TAG_DIRNAMES = 1118, TAG_PAYLOADFORMAT = 1124, TAG_PAYLOADCOMPRESSOR = 1125,
	TAG_PAYLOADFLAGS = 1126, TAG_FILEDIGESTALGO = 5011, TAG_PAYLOADDIGEST = 5092,
	TAG_PAYLOADDIGESTALGO = 5093, TAG_CHANGELOGTIME = 1080, TAG_CHANGELOGNAME = 1081,
	TAG_CHANGELOGTEXT = 1082
};

#define PGPHASHALGO_SHA256 8
/* rpm -V checks everything but, for %ghost, the contents. */
#define VERIFY_ALL 0xffffffffu
#define VERIFY_GHOST (VERIFY_ALL & ~(1u | 2u | 4u | 32u))

/* deps_tags adds NAME/FLAGS/VERSION for one dependency kind. */
static void
deps_tags(struct hdr *h, const struct deps *d, uint32_t tname, uint32_t tflags, uint32_t tver)
{
	if (d->n == 0)
		return;
	const char **names = calloc(d->n, sizeof(*names));
	const char **vers = calloc(d->n, sizeof(*vers));
	uint32_t *flags = calloc(d->n, sizeof(*flags));
	if (names == NULL || vers == NULL || flags == NULL) {
		h->failed = true;
	} else {
		for (size_t i = 0; i < d->n; i++) {
			names[i] = d->v[i].name;
			vers[i] = d->v[i].version;
			flags[i] = d->v[i].flags;
		}
		hdr_add_strings(h, tname, names, d->n);
		hdr_add_u32(h, tflags, flags, d->n);
		hdr_add_strings(h, tver, vers, d->n);
	}
	free(names);
	free(vers);
	free(flags);
}

/* add_dep_copy appends a dependency to d (a copy the caller frees). */
static int
push(struct deps *d, const char *name, const char *ver, uint32_t flags)
{
	if (d->n == d->cap) {
		size_t cap = d->cap ? 2 * d->cap : 16;
		struct dep *v = realloc(d->v, cap * sizeof(*v));
		if (v == NULL)
			return -1;
		d->v = v;
		d->cap = cap;
	}
	d->v[d->n++] = (struct dep){ (char *)name, (char *)ver, flags };
	return 0;
}

/* The requirements rpmbuild adds: the rpmlib features this package uses,
   and the interpreter of each scriptlet. */
static int
full_requires(const struct spec *s, struct deps *out)
{
	static const uint32_t script_flags[NSCRIPTS] = { RPMSENSE_SCRIPT_PRE,
		RPMSENSE_SCRIPT_POST, RPMSENSE_SCRIPT_PREUN, RPMSENSE_SCRIPT_POSTUN };
	const uint32_t lib = RPMSENSE_RPMLIB | RPMSENSE_LESS | RPMSENSE_EQUAL;
	int r = 0;
	for (size_t i = 0; i < s->requires.n; i++)
		r |= push(out, s->requires.v[i].name, s->requires.v[i].version,
		    s->requires.v[i].flags);
	for (int i = 0; i < NSCRIPTS; i++)
		if (s->script[i])
			r |= push(out, "/bin/sh", "", RPMSENSE_INTERP | script_flags[i]);
	r |= push(out, "rpmlib(CompressedFileNames)", "3.0.4-1", lib);
	r |= push(out, "rpmlib(FileDigests)", "4.6.0-1", lib);
	r |= push(out, "rpmlib(PayloadFilesHavePrefix)", "4.0-1", lib);
	return r;
}

/* by_str for qsort over char * arrays. */
static int
by_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* file_tags: the file list, with directory names compressed. */
static int
file_tags(struct hdr *h, const struct tree *t)
{
	size_t n = t->n;
	if (n == 0)
		return 0;
	uint32_t *u32 = calloc(n, sizeof(*u32)), *dirindex = calloc(n, sizeof(*dirindex));
	uint16_t *u16 = calloc(n, sizeof(*u16));
	const char **strs = calloc(n, sizeof(*strs));
	char **dirs = calloc(n, sizeof(*dirs)), **sorted = calloc(n, sizeof(*sorted));
	size_t ndirs = 0;
	int r = u32 && dirindex && u16 && strs && dirs && sorted ? 0 : -1;
	/* Directory names: sorted, unique, each with its trailing slash. */
	for (size_t i = 0; i < n && r == 0; i++) {
		const char *slash = strrchr(t->v[i].path, '/');
		if ((dirs[i] = strndup(t->v[i].path, slash - t->v[i].path + 1)) == NULL)
			r = -1;
	}
	if (r == 0) {
		memcpy(sorted, dirs, n * sizeof(*dirs));
		qsort(sorted, n, sizeof(*sorted), by_str);
		for (size_t i = 0; i < n; i++)
			if (ndirs == 0 || strcmp(sorted[ndirs - 1], sorted[i]) != 0)
				sorted[ndirs++] = sorted[i];
		for (size_t i = 0; i < n; i++) {
			char **hit = bsearch(&dirs[i], sorted, ndirs, sizeof(*sorted), by_str);
			dirindex[i] = (uint32_t)(hit - sorted);
			strs[i] = strrchr(t->v[i].path, '/') + 1;
		}
		hdr_add_u32(h, TAG_DIRINDEXES, dirindex, n);
		hdr_add_strings(h, TAG_BASENAMES, strs, n);
		hdr_add_strings(h, TAG_DIRNAMES, (const char *const *)sorted, ndirs);
#define U32(tag, expr)                                 \
	do {                                           \
		for (size_t i = 0; i < n; i++)         \
			u32[i] = (expr);               \
		hdr_add_u32(h, tag, u32, n);           \
	} while (0)
#define STRS(tag, expr)                                \
	do {                                           \
		for (size_t i = 0; i < n; i++)         \
			strs[i] = (expr);              \
		hdr_add_strings(h, tag, strs, n);      \
	} while (0)
		const struct entry *v = t->v;
		U32(TAG_FILESIZES, v[i].size);
		for (size_t i = 0; i < n; i++)
			u16[i] = (uint16_t)v[i].mode;
		hdr_add_u16(h, TAG_FILEMODES, u16, n);
		memset(u16, 0, n * sizeof(*u16));
		hdr_add_u16(h, TAG_FILERDEVS, u16, n);
		U32(TAG_FILEMTIMES, v[i].mtime);
		STRS(TAG_FILEDIGESTS, v[i].digest);
		STRS(TAG_FILELINKTOS, v[i].linkto);
		U32(TAG_FILEFLAGS, v[i].flags);
		STRS(TAG_FILEUSERNAME, v[i].user);
		STRS(TAG_FILEGROUPNAME, v[i].group);
		U32(TAG_FILEVERIFYFLAGS, v[i].flags & RPMFILE_GHOST ? VERIFY_GHOST : VERIFY_ALL);
		U32(TAG_FILEDEVICES, 1);
		U32(TAG_FILEINODES, v[i].inode);
		STRS(TAG_FILELANGS, "");
#undef U32
#undef STRS
	}
	for (size_t i = 0; dirs && i < n; i++)
		free(dirs[i]);
	free(u32);
	free(dirindex);
	free(u16);
	free(strs);
	free(dirs);
	free(sorted);
	return r;
}

static void
changelog_tags(struct hdr *h, const struct spec *s)
{
	size_t n = s->nchanges;
	uint32_t *t = calloc(n + 1, sizeof(*t));
	const char **a = calloc(n + 1, sizeof(*a)), **x = calloc(n + 1, sizeof(*x));
	if (t && a && x && n > 0) {
		for (size_t i = 0; i < n; i++) {
			t[i] = s->changes[i].time;
			a[i] = s->changes[i].author;
			x[i] = s->changes[i].text;
		}
		hdr_add_u32(h, TAG_CHANGELOGTIME, t, n);
		hdr_add_strings(h, TAG_CHANGELOGNAME, a, n);
		hdr_add_strings(h, TAG_CHANGELOGTEXT, x, n);
	} else if (n > 0) {
		h->failed = true;
	}
	free(t);
	free(a);
	free(x);
}

static void
add_scripts(struct hdr *h, const struct spec *s)
{
	for (int i = 0; i < NSCRIPTS; i++) {
		if (s->script[i] == NULL)
			continue;
		hdr_add_string(h, TAG_PREIN + (uint32_t)i, s->script[i]);
		hdr_add_string(h, TAG_PREINPROG + (uint32_t)i, "/bin/sh");
	}
}

int
header_build(const struct spec *s, const struct tree *t, const char *payload_sha,
    uint32_t buildtime, const char *buildhost, int level, struct hdr *h)
{
	static const char *const i18n[] = { "C" };
	char evr[512], srpm[1024];
	if (spec_evr(s, evr, sizeof(evr)) == -1 ||
	    str_fmt(srpm, sizeof(srpm), "%s-%s-%s.src.rpm", s->name, s->version, s->release) == -1)
		return -1;
	hdr_add_strings(h, TAG_I18NTABLE, i18n, 1);
	hdr_add_string(h, TAG_NAME, s->name);
	hdr_add_string(h, TAG_VERSION, s->version);
	hdr_add_string(h, TAG_RELEASE, s->release);
	if (s->epoch >= 0) {
		uint32_t e = (uint32_t)s->epoch;
		hdr_add_u32(h, TAG_EPOCH, &e, 1);
	}
	hdr_add_i18n(h, TAG_SUMMARY, s->summary);
	hdr_add_i18n(h, TAG_DESCRIPTION, s->description);
	hdr_add_u32(h, TAG_BUILDTIME, &buildtime, 1);
	hdr_add_string(h, TAG_BUILDHOST, buildhost);
	uint32_t size = (uint32_t)t->total_size;
	hdr_add_u32(h, TAG_SIZE, &size, 1);
	if (s->vendor)
		hdr_add_string(h, TAG_VENDOR, s->vendor);
	hdr_add_string(h, TAG_LICENSE, s->license);
	if (s->packager)
		hdr_add_string(h, TAG_PACKAGER, s->packager);
	hdr_add_i18n(h, TAG_GROUP, s->group);
	if (s->url)
		hdr_add_string(h, TAG_URL, s->url);
	hdr_add_string(h, TAG_OS, "linux");
	hdr_add_string(h, TAG_ARCH, s->arch);
	add_scripts(h, s);
	if (file_tags(h, t) == -1)
		return -1;
	hdr_add_string(h, TAG_SOURCERPM, srpm); /* without it rpm takes us for a source rpm */
	/* Every package provides itself at its own version. */
	struct deps prov = { 0 }, req = { 0 };
	int r = 0;
	for (size_t i = 0; i < s->provides.n; i++)
		r |= push(&prov, s->provides.v[i].name, s->provides.v[i].version,
		    s->provides.v[i].flags);
	r |= push(&prov, s->name, evr, RPMSENSE_EQUAL);
	r |= full_requires(s, &req);
	if (r == 0) {
		deps_tags(h, &prov, TAG_PROVIDENAME, TAG_PROVIDEFLAGS, TAG_PROVIDEVERSION);
		deps_tags(h, &req, TAG_REQUIRENAME, TAG_REQUIREFLAGS, TAG_REQUIREVERSION);
		deps_tags(h, &s->conflicts, TAG_CONFLICTNAME, TAG_CONFLICTFLAGS, TAG_CONFLICTVERSION);
		deps_tags(h, &s->obsoletes, TAG_OBSOLETENAME, TAG_OBSOLETEFLAGS, TAG_OBSOLETEVERSION);
	}
	free(prov.v);
	free(req.v);
	hdr_add_string(h, TAG_RPMVERSION, "4.11.3");
	changelog_tags(h, s);
	hdr_add_string(h, TAG_PAYLOADFORMAT, "cpio");
	hdr_add_string(h, TAG_PAYLOADCOMPRESSOR, "gzip");
	char flags[4] = { (char)('0' + (level >= 1 && level <= 9 ? level : 6)), '\0' };
	hdr_add_string(h, TAG_PAYLOADFLAGS, flags);
	uint32_t algo = PGPHASHALGO_SHA256;
	hdr_add_u32(h, TAG_FILEDIGESTALGO, &algo, 1);
	hdr_add_strings(h, TAG_PAYLOADDIGEST, &payload_sha, 1);
	hdr_add_u32(h, TAG_PAYLOADDIGESTALGO, &algo, 1);
	return r || h->failed ? -1 : 0;
}
