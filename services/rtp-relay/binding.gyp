{
  "targets": [
    {
      "target_name": "rtp_relay",
      "sources": [
        "native/addon.c",
        "native/engine.c",
        "native/packet.c",
        "native/stats.c",
        "native/uring.c",
        "native/epoll.c"
      ],
      "defines": ["_GNU_SOURCE"],
      "cflags": ["-O2", "-std=gnu11", "-Wall", "-Wextra", "-Wno-unused-parameter", "-fvisibility=hidden"],
      "libraries": ["-luring", "-lpthread"]
    }
  ]
}
