// Minimal uWebSockets HTTP/1.1 server for benchmarking.
// Usage: ./server <port>   (listens on 127.0.0.1:<port>, single-threaded)
#include "App.h"
#include <cstdio>
#include <cstdlib>

int main(int argc, char **argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s <port>\n", argv[0]);
        return 2;
    }
    int port = std::atoi(argv[1]);
    if (port <= 0 || port > 65535) {
        std::fprintf(stderr, "invalid port: %s\n", argv[1]);
        return 2;
    }

    uWS::App()
        .get("/healthz", [](auto *res, auto * /*req*/) {
            res->writeHeader("Content-Type", "application/json; charset=utf-8")
               ->end("{\"status\":\"ok\"}");
        })
        .any("/*", [](auto *res, auto * /*req*/) {
            res->writeStatus("404 Not Found")
               ->writeHeader("Content-Type", "text/plain; charset=utf-8")
               ->end("Not Found");
        })
        .listen("127.0.0.1", port, [port](auto *listen_socket) {
            if (listen_socket) {
                std::printf("Listening on 127.0.0.1:%d\n", port);
                std::fflush(stdout);
            } else {
                std::fprintf(stderr, "Failed to listen on 127.0.0.1:%d\n", port);
                std::exit(1);
            }
        })
        .run();
    return 0;
}
