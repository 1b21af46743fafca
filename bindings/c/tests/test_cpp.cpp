// The header compiles as C++ (extern "C" guards) and the library links from C++.
#include <tracer.h>

#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

// C++ users can wrap the handle in RAII.
class Span {
  public:
    explicit Span(const char *tag) : s_(tracer_begin(tag, nullptr, 0)) {}
    Span(const Span &parent, const char *tag) : s_(tracer_child(parent.s_, tag, nullptr, 0)) {}
    ~Span() { tracer_end(s_); }
    Span(const Span &) = delete;
    Span &operator=(const Span &) = delete;

  private:
    tracer_span *s_;
};

int main() {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) return 2;
    tracer_set_sink_fd(sv[1]);
    {
        Span a("cpp");
        Span b(a, "child");
        TRACER_SCOPE("scoped");
        TRACER_STATIC_SCOPE("static");
    }
    const std::vector<std::string> want = {">:t:cpp::",    ">:t:cpp.child::", ">:t:scoped::",
                                           ">:t:static::", "<:t:static::",    "<:t:scoped::",
                                           "<:t:cpp.child::", "<:t:cpp::"};
    int failures = 0;
    char buf[256];
    for (const auto &w : want) {
        ssize_t n = recv(sv[0], buf, sizeof buf, MSG_DONTWAIT);
        if (n < 0 || std::string(buf, static_cast<size_t>(n)) != w) {
            std::fprintf(stderr, "want '%s' got '%.*s'\n", w.c_str(), n < 0 ? 0 : (int)n, buf);
            failures++;
        }
    }
    if (recv(sv[0], buf, sizeof buf, MSG_DONTWAIT) >= 0) failures++;
    tracer_set_sink_fd(-1);
    std::printf("test_cpp: %s\n", failures ? "FAILED" : "all checks passed");
    return failures ? 1 : 0;
}
