/*
 * web.c: what the three HTTP services (Consul, RabbitMQ's management
 * API, Elasticsearch) share here: a checked base URL, credentials that
 * only ever come from files or the environment, one line per failure.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backup.h"
#include "base64.h"
#include "exits.h"

#define SECRET_MAX 4096

static void
trace_line(void *ctx, const char *line)
{
	log_trace((struct log *)ctx, "%s", line);
}

int
web_open(struct web *w, const char *what, const char *url, const char *hint,
    const char *cacert, struct log *lg)
{
	memset(w, 0, sizeof(*w));
	w->what = what;
	w->hint = hint;
	w->lg = lg;
	const char *rest = strncmp(url, "http://", 7) == 0 ? url + 7
	    : strncmp(url, "https://", 8) == 0           ? url + 8
	                                                 : NULL;
	if (rest == NULL) {
		log_error(lg, "%s address %s: expected http://HOST:PORT or https://HOST:PORT (%s)",
		    what, url, hint);
		return EX_USAGE;
	}
	size_t auth_len = strcspn(rest, "/?#");
	const char *at = memchr(rest, '@', auth_len);
	if (at != NULL) {
		/* Never repeat what precedes the '@': it is likely a password. */
		log_error(lg, "%s address: user:password@ in a URL would show in ps, logs and "
			      "manifests; give the credentials in a file or the environment", what);
		return EX_USAGE;
	}
	if (auth_len == 0 || strchr(rest, '?') || strchr(rest, '#') ||
	    str_copy(w->base, sizeof(w->base), url) == -1) {
		log_error(lg, "%s address %s: not a usable http(s)://HOST:PORT (%s)", what, url,
		    hint);
		return EX_USAGE;
	}
	size_t n = strlen(w->base);
	while (n > 0 && w->base[n - 1] == '/')
		w->base[--n] = '\0';
	if (http_client_init(&w->http) != 0) {
		log_error(lg, "cannot initialize libcurl");
		return EX_SOFTWARE;
	}
	w->ready = true;
	w->http.ca_file = cacert;
	w->http.trace = trace_line;
	w->http.trace_ctx = lg;
	return 0;
}

void
web_close(struct web *w)
{
	if (w->ready)
		http_client_free(&w->http);
	w->ready = false;
	secure_wipe(w->auth, sizeof(w->auth));
}

void
web_header(struct web *w, const char *name, const char *value)
{
	if (w->nhdr < sizeof(w->hdr) / sizeof(w->hdr[0]) - 1)
		w->hdr[w->nhdr++] = (struct http_header){ name, value };
}

int
web_basic(struct web *w, const char *user, const char *password)
{
	struct buf pair, token;
	buf_init(&pair, SECRET_MAX * 2);
	buf_init(&token, SECRET_MAX * 3);
	int r = 0;
	if (strchr(user, ':') != NULL) {
		log_error(w->lg, "user %s: a basic-auth user name cannot hold ':'", user);
		r = EX_USAGE;
	} else if (buf_printf(&pair, "%s:%s", user, password) == -1 ||
	    base64_encode(&token, pair.data, pair.len) == -1 ||
	    str_fmt(w->auth, sizeof(w->auth), "Basic %s", buf_str(&token)) == -1) {
		log_error(w->lg, "user name and password too long");
		r = EX_DATAERR;
	}
	if (r == 0) {
		secret_hold(w->lg, w->auth + 6);
		web_header(w, "Authorization", w->auth);
	}
	buf_wipe(&pair);
	buf_wipe(&token);
	return r;
}

/* reason: the server's own words for an error, from the usual JSON shapes. */
static void
reason(const struct http_response *rs, char *out, size_t outsize)
{
	json_t *doc = json_loadb(rs->body.data ? rs->body.data : "", rs->body.len, 0, NULL);
	json_t *e = json_object_get(doc, "error");
	const char *t = json_string_value(json_object_get(json_object_get(e, "root_cause") ?
	        json_array_get(json_object_get(e, "root_cause"), 0) : e, "reason"));
	if (t == NULL)
		t = json_string_value(json_object_get(e, "reason"));
	if (t == NULL)
		t = json_string_value(json_object_get(doc, "reason"));
	if (t == NULL)
		t = json_string_value(e);
	if (t == NULL)
		t = json_string_value(json_object_get(doc, "message"));
	str_fmt_clip(out, outsize, "%s", t ? t : buf_str(&rs->body));
	json_decref(doc);
	str_trim(out);
}

int
web_call(struct web *w, const char *method, const char *path, const char *ctype,
    const void *body, size_t n, size_t max, struct http_response *rs)
{
	struct buf url;
	struct http_header h[8];
	size_t nh = 0;
	buf_init(&url, 8192);
	if (buf_printf(&url, "%s%s", w->base, path) == -1) {
		buf_free(&url);
		log_error(w->lg, "%s%s: URL too long", w->base, path);
		return EX_SOFTWARE;
	}
	for (size_t i = 0; i < w->nhdr; i++)
		h[nh++] = w->hdr[i];
	if (ctype != NULL)
		h[nh++] = (struct http_header){ "Content-Type", ctype };
	struct http_request rq = { .method = method, .url = url.data, .headers = h,
		.nheaders = nh, .max_response = max };
	if (body != NULL)
		rq.body = (struct http_body){ .kind = HTTP_BODY_MEM, .data = body, .len = n };
	int r = http_do(&w->http, &rq, rs);
	if (r != 0 && strstr(rs->error, "TLS") != NULL)
		log_error(w->lg, "%s (the %s CA: --cacert FILE)", rs->error, w->what);
	else if (r != 0 && r == EX_UNAVAILABLE && rs->status == 0)
		log_error(w->lg, "%s; is %s running there? (%s)", rs->error, w->what, w->hint);
	else if (r != 0 && rs->status >= 300 && rs->body.len > 0) {
		/* The server's own words; never a 2xx body cut short: that is
		 * data (Consul values, definitions), not a reason. */
		char why[300];
		reason(rs, why, sizeof(why));
		log_error(w->lg, "%s: %s", rs->error, why);
	} else if (r != 0)
		log_error(w->lg, "%s", rs->error);
	buf_free(&url);
	return r;
}

int
web_refused(struct web *w, const char *what, const struct http_response *rs)
{
	char why[300];
	reason(rs, why, sizeof(why));
	if (rs->status == 401 || rs->status == 403) {
		log_error(w->lg, "%s refused to %s (HTTP %ld: %s): check the credentials and "
				 "their permissions", w->what, what, rs->status, why);
		return EX_NOPERM;
	}
	log_error(w->lg, "%s refused to %s (HTTP %ld: %s)", w->what, what, rs->status, why);
	if (rs->status == 404)
		return EX_NOINPUT;
	return rs->status >= 500 ? EX_UNAVAILABLE : EX_DATAERR;
}

/* read_file_secret: the first line of file, without its newline. */
static int
read_file_secret(struct log *lg, const char *file, struct buf *out)
{
	char text[SECRET_MAX + 1];
	FILE *f = fopen(file, "r");
	if (f == NULL) {
		log_error(lg, "password file %s: %s", file, strerror(errno));
		return EX_NOINPUT;
	}
	size_t n = fread(text, 1, sizeof(text), f);
	int bad = ferror(f);
	fclose(f);
	if (bad || n == sizeof(text)) {
		secure_wipe(text, sizeof(text));
		log_error(lg, "password file %s: %s", file,
		    bad ? "cannot read it" : "longer than a password can be");
		return bad ? EX_NOINPUT : EX_DATAERR;
	}
	char *nl = memchr(text, '\n', n);
	if (nl != NULL)
		n = (size_t)(nl - text);
	if (n > 0 && text[n - 1] == '\r')
		n--;
	int r = n == 0 ? EX_DATAERR : buf_append(out, text, n) == 0 ? 0 : EX_SOFTWARE;
	secure_wipe(text, sizeof(text));
	if (r == EX_DATAERR)
		log_error(lg, "password file %s: its first line is empty", file);
	return r;
}

int
read_secret(struct log *lg, const char *file, const char *env, struct buf *out)
{
	const char *value = env ? getenv(env) : NULL;
	int r;
	if (file != NULL) {
		if ((r = read_file_secret(lg, file, out)) != 0)
			return r;
	} else if (value != NULL && *value != '\0') {
		if (strlen(value) > SECRET_MAX || buf_puts(out, value) == -1) {
			log_error(lg, "$%s: longer than a password can be", env);
			return EX_DATAERR;
		}
	} else {
		return 1;
	}
	secret_hold(lg, out->data);
	return 0;
}

/*
 * The log's redaction registry keeps pointers, so what it is given must
 * outlive every line the run may still write: a copy held here, the same
 * text once however often it is read, wiped by secrets_release at the end.
 */
struct held {
	struct held *next;
	size_t n;
	char s[];
};

static struct held *held;

void
secret_hold(struct log *lg, const char *s)
{
	if (s == NULL || *s == '\0')
		return;
	for (struct held *h = held; h; h = h->next)
		if (strcmp(h->s, s) == 0)
			return;
	size_t n = strlen(s);
	struct held *h = malloc(sizeof(*h) + n + 1);
	if (h == NULL) {
		log_die(lg, EX_SOFTWARE, "out of memory");
	}
	memcpy(h->s, s, n + 1);
	h->n = n;
	h->next = held;
	held = h;
	if (log_add_secret(lg, h->s) == -1)
		log_die(lg, EX_SOFTWARE, "too many secrets to keep out of the log");
}

void
secrets_release(struct log *lg)
{
	log_forget_secrets(lg);
	while (held != NULL) {
		struct held *next = held->next;
		secure_wipe(held->s, held->n);
		free(held);
		held = next;
	}
}
