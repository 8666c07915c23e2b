/* loop.h: one epoll event loop per worker thread: file descriptors, timers, posted work. */
#ifndef SP_IO_LOOP_H
#define SP_IO_LOOP_H

#include <stdbool.h>
#include <stdint.h>

#include "core/timer.h"

struct sp_loop;

enum {
	SP_IO_READ = 1u << 0,
	SP_IO_WRITE = 1u << 1,
	SP_IO_ERROR = 1u << 2, /* reported only: EPOLLERR or EPOLLHUP */
};

/* Called on the loop's thread with the events that are ready. */
typedef void (*sp_io_h)(int fd, unsigned events, void *arg);
/* Work posted to a loop, run on its thread. */
typedef void (*sp_post_h)(void *arg);

/* Creates a loop; max_timers caps its timer heap. */
int sp_loop_create(size_t max_timers, struct sp_loop **out);
/* Frees the loop. Watched fds are not closed (their owners close them);
 * posted work not yet run is dropped. */
void sp_loop_destroy(struct sp_loop *loop);

/* Watches fd for events (SP_IO_READ and/or SP_IO_WRITE), level-triggered.
 * One registration per fd; sp_loop_fd_mod changes its events, sp_loop_fd_del
 * removes it (call it before closing the fd). A handler may add, change and
 * delete any registration, including its own, while running. */
int sp_loop_fd_add(struct sp_loop *loop, int fd, unsigned events, sp_io_h cb, void *arg);
int sp_loop_fd_mod(struct sp_loop *loop, int fd, unsigned events);
void sp_loop_fd_del(struct sp_loop *loop, int fd);

/* The loop's timers and clock: "now" is read once per iteration (cheap and
 * consistent within one batch of events). */
struct sp_timers *sp_loop_timers(struct sp_loop *loop);
uint64_t sp_loop_now(const struct sp_loop *loop);

/* Thread-safe: queues fn(arg) to run on the loop's thread and wakes it.
 * SP_ENOMEM when the queue entry cannot be allocated. */
int sp_loop_post(struct sp_loop *loop, sp_post_h fn, void *arg);

/* Runs until sp_loop_stop. Returns 0, or a negative SP_E* when epoll fails. */
int sp_loop_run(struct sp_loop *loop);
/* Asks the loop to return from sp_loop_run after the current iteration.
 * Thread-safe and async-signal-safe (it writes the loop's eventfd). */
void sp_loop_stop(struct sp_loop *loop);

#endif
