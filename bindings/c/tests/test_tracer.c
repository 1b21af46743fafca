/* Tests of libtracer_tag through its installed header and library: the sink is a
 * SOCK_SEQPACKET socket, so each write(2) arrives as one packet and every marker is
 * checked byte for byte. */
#include <tracer.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int failures;
static int rx = -1;

#define CHECK(cond)                                                          \
    do {                                                                     \
        if (!(cond)) {                                                       \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, \
                    #cond);                                                  \
            failures++;                                                      \
        }                                                                    \
    } while (0)

/* Reads the next packet (-1 if none). */
static ssize_t next_packet(char *buf, size_t cap) {
    return recv(rx, buf, cap, MSG_DONTWAIT);
}

/* Expects the next marker to be exactly `want` (`len` bytes). */
static void expect_n(const char *want, size_t len, int line) {
    char buf[8192];
    ssize_t n = next_packet(buf, sizeof buf);
    if (n < 0) {
        fprintf(stderr, "line %d: expected marker '%.*s', got nothing\n", line, (int)len, want);
        failures++;
    } else if ((size_t)n != len || memcmp(buf, want, len) != 0) {
        fprintf(stderr, "line %d: expected '%.*s'\n          got      '%.*s'\n", line,
                (int)len, want, (int)n, buf);
        failures++;
    }
}
#define EXPECT(s) expect_n((s), sizeof(s) - 1, __LINE__)

static void expect_empty(int line) {
    char buf[8192];
    ssize_t n = next_packet(buf, sizeof buf);
    if (n >= 0) {
        fprintf(stderr, "line %d: unexpected marker '%.*s'\n", line, (int)n, buf);
        failures++;
    }
}
#define EXPECT_EMPTY() expect_empty(__LINE__)

static void nested_scopes(void) {
    {
        TRACER_SPAN(h, "download_handler");
        {
            TRACER_CHILD(w, h, "download_writes");
            TRACER_SCOPE("sibling.root");
        }
        TRACER_CHILD(hd, h, "download_headers");
    }
    EXPECT(">:t:download_handler::");
    EXPECT(">:t:download_handler.download_writes::");
    EXPECT(">:t:sibling.root::");
    EXPECT("<:t:sibling.root::");
    EXPECT("<:t:download_handler.download_writes::");
    EXPECT(">:t:download_handler.download_headers::");
    EXPECT("<:t:download_handler.download_headers::");
    EXPECT("<:t:download_handler::");
    EXPECT_EMPTY();
}

/* Call-site spans: same markers as the dynamic ones, built once per site (each loop
 * turn reuses them), nesting with dynamic children, exit arguments. */
static void static_scopes(void) {
    for (int i = 0; i < 2; i++) {
        TRACER_STATIC_SPAN(h, "download_handler");
        {
            TRACER_CHILD(w, h, "download_writes");
            TRACER_STATIC_SCOPE("odd tag:x");
        }
        if (i == 1) CHECK(tracer_set_exit_arg(h, "n", "1") == TRACER_OK);
    }
    for (int i = 0; i < 2; i++) {
        EXPECT(">:t:download_handler::");
        EXPECT(">:t:download_handler.download_writes::");
        EXPECT(">:t:odd tag\\:x::");
        EXPECT("<:t:odd tag\\:x::");
        EXPECT("<:t:download_handler.download_writes::");
        if (i == 0)
            EXPECT("<:t:download_handler::");
        else
            EXPECT("<:t:download_handler:n=1:");
    }
    /* the heap form */
    static tracer_site site = TRACER_SITE_INIT("heap.site");
    tracer_end(tracer_begin_site(&site));
    EXPECT(">:t:heap.site::");
    EXPECT("<:t:heap.site::");
    /* errors: NULL site / storage */
    tracer_span_storage st;
    CHECK(tracer_begin_site(NULL) == NULL);
    CHECK(strstr(tracer_last_error(), "site") != NULL);
    CHECK(tracer_begin_site_in(NULL, &site) == NULL);
    CHECK(tracer_begin_site_in(&st, NULL) == NULL);
    static tracer_site no_tag = {NULL, {0, 0}};
    CHECK(tracer_begin_site(&no_tag) == NULL);
    EXPECT_EMPTY();
}

/* TRACER_SCOPE remembers the first tag of its call site: other tags, including a
 * prefix or an extension of it, still get their own markers. */
static void scope_cache_follows_the_tag(void) {
    const char *names[] = {"ab", "a", "abc", "ab", "x:y"};
    for (int i = 0; i < 5; i++) {
        TRACER_SCOPE(names[i]);
    }
    EXPECT(">:t:ab::");
    EXPECT("<:t:ab::");
    EXPECT(">:t:a::");
    EXPECT("<:t:a::");
    EXPECT(">:t:abc::");
    EXPECT("<:t:abc::");
    EXPECT(">:t:ab::");
    EXPECT("<:t:ab::");
    EXPECT(">:t:x\\:y::");
    EXPECT("<:t:x\\:y::");
    tracer_span_storage st;
    CHECK(tracer_begin_cached_in(&st, NULL, NULL) == NULL);
    tracer_end(tracer_begin_cached_in(&st, NULL, "nocache"));
    EXPECT(">:t:nocache::");
    EXPECT("<:t:nocache::");
    EXPECT_EMPTY();
}

static void args_and_escaping(void) {
    tracer_arg args[] = {{"n", "42"}, {"v", "a:b,c=d\\e"}, {"k=1", "<x>"}};
    tracer_span *s = tracer_begin("q:x.y", args, 3);
    CHECK(s != NULL);
    CHECK(tracer_set_exit_arg(s, "rows", "7") == TRACER_OK);
    CHECK(tracer_set_exit_arg_len(s, "r\0x", 3, "\n", 1) == TRACER_OK);
    tracer_arg end_args[] = {{"last", "1,2"}};
    CHECK(tracer_end_args(s, end_args, 1) == TRACER_OK);
    EXPECT(">:t:q\\:x.y:n=42,v=a\\:b\\,c\\=d\\\\e,k\\=1=<x>:");
    EXPECT("<:t:q\\:x.y:rows=7,rx=\\\n,last=1\\,2:");

    /* length-delimited variants: bytes are taken as given, NUL dropped */
    tracer_arg_len la[] = {{"a:b", 3, "1\0002", 3}, {NULL, 0, NULL, 0}};
    tracer_span *l = tracer_begin_len(TRACER_ID_PROCESS, 0, "0tag.x:yz", 8, la, 2);
    tracer_span *c = tracer_child_len(l, "ch.ild", 6, NULL, 0);
    tracer_arg ca[] = {{"z", "9"}};
    tracer_span *c2 = tracer_child(c, "leaf", ca, 1);
    tracer_end(c2);
    tracer_end(c);
    tracer_end(l);
    EXPECT(">:p:\\0tag.x\\:y:a\\:b=12,=:");
    EXPECT(">:p:\\0tag.x\\:y.ch.ild::");
    EXPECT(">:p:\\0tag.x\\:y.ch.ild.leaf:z=9:");
    EXPECT("<:p:\\0tag.x\\:y.ch.ild.leaf::");
    EXPECT("<:p:\\0tag.x\\:y.ch.ild::");
    EXPECT("<:p:\\0tag.x\\:y::");
    EXPECT_EMPTY();
}

static void caller_storage(void) {
    tracer_span_storage st, cst;
    tracer_arg a[] = {{"k", "v,w"}};
    tracer_span *s = tracer_begin_in(&st, "stack", a, 1);
    CHECK(s == (tracer_span *)&st);
    tracer_span *c = tracer_child_in(&cst, s, "kid", a, 1);
    CHECK(c == (tracer_span *)&cst);
    CHECK(tracer_set_exit_arg(c, "n", "1") == TRACER_OK);
    CHECK(tracer_end(c) == TRACER_OK);
    CHECK(tracer_end_args(s, a, 1) == TRACER_OK);
    EXPECT(">:t:stack:k=v\\,w:");
    EXPECT(">:t:stack.kid:k=v\\,w:");
    EXPECT("<:t:stack.kid:n=1:");
    EXPECT("<:t:stack:k=v\\,w:");
    CHECK(tracer_begin_in(NULL, "x", NULL, 0) == NULL);
    CHECK(strstr(tracer_last_error(), "storage") != NULL);
    CHECK(tracer_child_in(&cst, NULL, "x", NULL, 0) == NULL);
    EXPECT_EMPTY();
}

static void ids(void) {
    tracer_end(tracer_begin_id(TRACER_ID_THREAD, 5, "a", NULL, 0));
    tracer_end(tracer_begin_id(TRACER_ID_PROCESS, 5, "a", NULL, 0));
    tracer_end(tracer_begin_id(TRACER_ID_PARENT, 5, "a", NULL, 0));
    tracer_end(tracer_begin_id(TRACER_ID_GLOBAL, 5, "a", NULL, 0));
    tracer_end(tracer_begin_id(TRACER_ID_EXPLICIT, 0, "a", NULL, 0));
    tracer_end(tracer_begin_id(TRACER_ID_EXPLICIT, -42, "a", NULL, 0));
    tracer_end(tracer_begin_id(TRACER_ID_EXPLICIT, INT64_MAX, "a", NULL, 0));
    EXPECT(">:t:a::");
    EXPECT("<:t:a::");
    EXPECT(">:p:a::");
    EXPECT("<:p:a::");
    EXPECT(">:pp:a::");
    EXPECT("<:pp:a::");
    EXPECT(">:g:a::");
    EXPECT("<:g:a::");
    EXPECT(">:-0:a::");
    EXPECT("<:-0:a::");
    EXPECT(">:-42:a::");
    EXPECT("<:-42:a::");
    EXPECT(">:9223372036854775807:a::");
    EXPECT("<:9223372036854775807:a::");
    tracer_arg a[] = {{"k", "v"}};
    CHECK(tracer_emit(TRACER_ENTER, TRACER_ID_EXPLICIT, 7, "x.y", a, 1) == TRACER_OK);
    CHECK(tracer_emit_len(TRACER_EXIT, TRACER_ID_GLOBAL, 0, "x.y", 3, NULL, 0) == TRACER_OK);
    EXPECT(">:7:x.y:k=v:");
    EXPECT("<:g:x.y::");
    EXPECT_EMPTY();
}

static void errors(void) {
    CHECK(strcmp(tracer_strerror(TRACER_ERR_INVALID), "invalid argument") == 0);
    CHECK(tracer_begin(NULL, NULL, 0) == NULL);
    CHECK(strstr(tracer_last_error(), "tag is NULL") != NULL);
    CHECK(tracer_begin("a", NULL, 2) == NULL);
    CHECK(strstr(tracer_last_error(), "nargs is 2") != NULL);
    tracer_arg bad[] = {{"k", NULL}};
    CHECK(tracer_begin("a", bad, 1) == NULL);
    CHECK(strstr(tracer_last_error(), "args[0].value") != NULL);
    CHECK(tracer_begin_id(99, 0, "a", NULL, 0) == NULL);
    CHECK(strstr(tracer_last_error(), "unknown id kind 99") != NULL);
    CHECK(tracer_begin_len(TRACER_ID_THREAD, 0, NULL, 3, NULL, 0) == NULL);
    CHECK(tracer_child(NULL, "a", NULL, 0) == NULL);
    CHECK(strstr(tracer_last_error(), "parent") != NULL);
    CHECK(tracer_emit(5, TRACER_ID_THREAD, 0, "a", NULL, 0) == TRACER_ERR_INVALID);
    CHECK(tracer_set_exit_arg(NULL, "a", "b") == TRACER_ERR_INVALID);
    CHECK(tracer_end(NULL) == TRACER_OK);
    CHECK(tracer_end_args(NULL, NULL, 0) == TRACER_OK);
    /* a failed begin inside a scope is harmless */
    { TRACER_SPAN(s, NULL); CHECK(s == NULL); }
    EXPECT_EMPTY(); /* nothing written by failed calls */

    /* write failures are counted, never returned */
    int ro = open("/dev/null", O_RDONLY | O_CLOEXEC);
    int sink = tracer_sink_fd();
    uint64_t before = tracer_error_count();
    tracer_set_sink_fd(ro);
    CHECK(tracer_end(tracer_begin("a", NULL, 0)) == TRACER_OK);
    CHECK(tracer_error_count() == before + 2);
    tracer_set_sink_fd(sink);
    close(ro);
}

/* last-error is per thread */
static void *other_thread_error(void *arg) {
    (void)arg;
    return (void *)(strcmp(tracer_last_error(), "") == 0 ? (void *)1 : NULL);
}

#define THREADS 4
#define PER_THREAD 300

static void *worker(void *arg) {
    long t = (long)arg;
    char tag[32], val[32];
    snprintf(tag, sizeof tag, "w%ld", t);
    for (int i = 0; i < PER_THREAD; i++) {
        snprintf(val, sizeof val, "%d", i);
        tracer_arg a[] = {{"i", val}};
        tracer_span *s = tracer_begin(tag, a, 1);
        tracer_end(tracer_child(s, "c", NULL, 0));
        tracer_end(s);
    }
    return NULL;
}

static void threads(void) {
    pthread_t th[THREADS];
    for (long t = 0; t < THREADS; t++) pthread_create(&th[t], NULL, worker, (void *)t);
    for (int t = 0; t < THREADS; t++) pthread_join(th[t], NULL);
    int next[THREADS] = {0}, phase[THREADS] = {0}, total = 0;
    char buf[256], want[64];
    ssize_t n;
    while ((n = next_packet(buf, sizeof buf)) >= 0) {
        total++;
        int t = buf[5] - '0';
        if (n < 6 || t < 0 || t >= THREADS) {
            fprintf(stderr, "threads: bad marker '%.*s'\n", (int)n, buf);
            failures++;
            continue;
        }
        int i = next[t];
        switch (phase[t]) {
        case 0: snprintf(want, sizeof want, ">:t:w%d:i=%d:", t, i); break;
        case 1: snprintf(want, sizeof want, ">:t:w%d.c::", t); break;
        case 2: snprintf(want, sizeof want, "<:t:w%d.c::", t); break;
        default: snprintf(want, sizeof want, "<:t:w%d::", t); break;
        }
        if ((size_t)n != strlen(want) || memcmp(buf, want, n) != 0) {
            fprintf(stderr, "threads: want '%s' got '%.*s'\n", want, (int)n, buf);
            failures++;
        }
        if (++phase[t] == 4) {
            phase[t] = 0;
            next[t]++;
        }
    }
    CHECK(total == THREADS * PER_THREAD * 4);
    pthread_t o;
    void *ok = NULL;
    pthread_create(&o, NULL, other_thread_error, NULL);
    pthread_join(o, &ok);
    CHECK(ok != NULL);
}

static void default_sink(void) {
    tracer_set_sink_fd(-1);
    int fd = tracer_sink_fd();
    CHECK(fd >= 0);
    char path[64], link[64] = {0};
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    CHECK(readlink(path, link, sizeof link - 1) > 0);
    CHECK(strcmp(link, "/dev/null") == 0);
    int fl = fcntl(fd, F_GETFL);
    CHECK((fl & O_ACCMODE) == O_WRONLY && (fl & O_NONBLOCK));
    CHECK(fcntl(fd, F_GETFD) & FD_CLOEXEC);
}

/* Threads racing on a site's first use all write the same markers. */
static tracer_site race_site = TRACER_SITE_INIT("race");
static void *race_worker(void *arg) {
    (void)arg;
    for (int i = 0; i < 100; i++) {
        tracer_span_storage st;
        CHECK(tracer_end(tracer_begin_site_in(&st, &race_site)) == TRACER_OK);
    }
    return NULL;
}

static void site_race(void) {
    pthread_t th[THREADS];
    for (int t = 0; t < THREADS; t++) pthread_create(&th[t], NULL, race_worker, NULL);
    for (int t = 0; t < THREADS; t++) pthread_join(th[t], NULL);
    char buf[256];
    ssize_t n;
    int enters = 0, exits = 0;
    while ((n = next_packet(buf, sizeof buf)) >= 0) {
        if (n == 10 && memcmp(buf, ">:t:race::", 10) == 0)
            enters++;
        else if (n == 10 && memcmp(buf, "<:t:race::", 10) == 0)
            exits++;
        else {
            fprintf(stderr, "site_race: bad marker '%.*s'\n", (int)n, buf);
            failures++;
        }
    }
    CHECK(enters == THREADS * 100 && exits == THREADS * 100);
}

int main(void) {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
        perror("socketpair");
        return 2;
    }
    int big = 4 << 20;
    setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
    rx = sv[0];
    CHECK(tracer_set_sink_fd(sv[1]) == TRACER_OK);
    CHECK(tracer_sink_fd() == sv[1]);

    nested_scopes();
    static_scopes();
    scope_cache_follows_the_tag();
    args_and_escaping();
    caller_storage();
    ids();
    errors();
    threads();
    site_race();
    default_sink();

    if (failures) {
        fprintf(stderr, "test_tracer: %d failure(s)\n", failures);
        return 1;
    }
    printf("test_tracer: all checks passed\n");
    return 0;
}
