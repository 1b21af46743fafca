/* Cost of one span through libtracer_tag (begin + end, TRACER_SCOPE and
 * TRACER_STATIC_SCOPE) vs. two raw write(2) calls of the same bytes to /dev/null,
 * measured in the same run as medians of interleaved batches. Goal: ratio <= 1.1. */
#include <tracer.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BATCH 2000
#define ROUNDS 301

static const char ENTER[] = ">:t:download_handler::";
static const char EXIT[] = "<:t:download_handler::";

static double now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts); /* CPU time: immune to other processes */
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

__attribute__((noinline)) static void raw_span(int fd) {
    if (write(fd, ENTER, sizeof ENTER - 1) < 0) abort();
    if (write(fd, EXIT, sizeof EXIT - 1) < 0) abort();
}

__attribute__((noinline)) static void lib_span(void) {
    tracer_end(tracer_begin("download_handler", NULL, 0));
}

__attribute__((noinline)) static void scope_span(void) {
    TRACER_SCOPE("download_handler");
}

__attribute__((noinline)) static void static_span(void) {
    TRACER_STATIC_SCOPE("download_handler");
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v) {
    qsort(v, ROUNDS, sizeof *v, cmp);
    return v[ROUNDS / 2];
}

int main(void) {
    int fd = open("/dev/null", O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return 2;
    double raw[ROUNDS], lib[ROUNDS], scope[ROUNDS], fixed[ROUNDS];
    for (int i = 0; i < 1000; i++) {
        raw_span(fd);
        lib_span();
        static_span();
    }
    for (int r = 0; r < ROUNDS; r++) {
        /* rotate the order so no variant always runs first */
        for (int k = 0; k < 4; k++) {
            int which = (r + k) % 4;
            double t = now_ns();
            if (which == 0)
                for (int i = 0; i < BATCH; i++) raw_span(fd);
            else if (which == 1)
                for (int i = 0; i < BATCH; i++) lib_span();
            else if (which == 2)
                for (int i = 0; i < BATCH; i++) scope_span();
            else
                for (int i = 0; i < BATCH; i++) static_span();
            double per = (now_ns() - t) / BATCH;
            (which == 0 ? raw : which == 1 ? lib : which == 2 ? scope : fixed)[r] = per;
        }
    }
    if (tracer_error_count() != 0) {
        fprintf(stderr, "bench: %llu marker writes failed\n",
                (unsigned long long)tracer_error_count());
        return 1;
    }
    double lr[ROUNDS], sr[ROUNDS], fr[ROUNDS];
    for (int k = 0; k < ROUNDS; k++) {
        lr[k] = lib[k] / raw[k];
        sr[k] = scope[k] / raw[k];
        fr[k] = fixed[k] / raw[k];
    }
    double r = median(raw), l = median(lib), s = median(scope), f = median(fixed);
    printf("C tracer span: %.1f ns, TRACER_SCOPE: %.1f ns, TRACER_STATIC_SCOPE: %.1f ns, "
           "raw 2x write: %.1f ns, ratio %.3f (scope %.3f, static scope %.3f; median of "
           "per-round ratios %.3f / %.3f / %.3f; thread CPU time, %d rounds)\n",
           l, s, f, r, l / r, s / r, f / r, median(lr), median(sr), median(fr), ROUNDS);
    return 0;
}
