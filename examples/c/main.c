/* A tiny C program instrumented with libtracer_tag: a "request handler" with nested
 * spans. Run it under the tracer probe to see the spans; alone it just runs. */
#include <tracer.h>

#include <stdio.h>
#include <unistd.h>

static long fib(int n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }

static void handle(int request) {
    char id[16];
    snprintf(id, sizeof id, "%d", request);
    tracer_arg args[] = {{"request", id}};
    tracer_span *h = tracer_begin("c_handler", args, 1);
    {
        TRACER_CHILD(compute, h, "compute");
        long r = fib(20 + request % 5);
        char buf[32];
        snprintf(buf, sizeof buf, "%ld", r);
        tracer_set_exit_arg(compute, "result", buf);
    }
    {
        TRACER_CHILD(out, h, "write");
        FILE *f = fopen("/tmp/tracer-example-c.out", "a");
        if (f) {
            fprintf(f, "request %d\n", request);
            fclose(f);
        }
    }
    tracer_end(h);
}

int main(void) {
    TRACER_SCOPE("c_main");
    for (int i = 0; i < 5; i++) handle(i);
    printf("example-c: handled 5 requests (markers written to /dev/null)\n");
    return 0;
}
