/* loop.c: the epoll event loop: an fd table with generations, the timer heap, posted work. */
#include "io/loop.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "core/err.h"
#include "core/log.h"

/* Events taken from the kernel per epoll_wait. */
#define SP_LOOP_BATCH 64
/* The fd table grows by doubling up to this many slots (fds above it are refused). */
#define SP_LOOP_MAX_FD (1u << 22)
/* epoll data of the eventfd: no fd slot has this value. */
#define SP_LOOP_WAKE_TAG UINT64_MAX

/* One registration. gen changes on every add and delete; the epoll data
 * carries (gen << 32 | fd), so an event read in the same batch as a delete
 * (or a delete, close, and re-add of the same fd number) is recognised as
 * stale and dropped. */
struct slot {
	sp_io_h cb;
	void *arg;
	unsigned events;
	uint32_t gen;
	bool used;
};

struct post {
	struct post *next;
	sp_post_h fn;
	void *arg;
};

struct sp_loop {
	int epfd;
	int wakefd;
	struct slot *slots;
	size_t nslots;
	struct sp_timers timers;
	uint64_t now;
	atomic_bool stop;
	pthread_mutex_t lock; /* guards the post queue only */
	struct post *head, *tail;
};

int sp_loop_create(size_t max_timers, struct sp_loop **out)
{
	int ret = SP_ENOMEM;
	struct sp_loop *loop = calloc(1, sizeof(*loop));
	if (!loop)
		return SP_ENOMEM;
	loop->epfd = -1;
	loop->wakefd = -1;
	sp_timers_init(&loop->timers, max_timers);
	atomic_init(&loop->stop, false);
	if (pthread_mutex_init(&loop->lock, NULL) != 0)
		goto out_free;
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	loop->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (loop->epfd < 0 || loop->wakefd < 0) {
		sp_log(SP_LOG_ERR, "loop: epoll/eventfd: %s", strerror(errno));
		ret = SP_EINVAL;
		goto out;
	}
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = SP_LOOP_WAKE_TAG };
	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, loop->wakefd, &ev) < 0) {
		ret = SP_EINVAL;
		goto out;
	}
	loop->now = sp_now_ms();
	*out = loop;
	return 0;
out:
	pthread_mutex_destroy(&loop->lock);
out_free:
	if (loop->epfd >= 0)
		close(loop->epfd);
	if (loop->wakefd >= 0)
		close(loop->wakefd);
	free(loop);
	return ret;
}

void sp_loop_destroy(struct sp_loop *loop)
{
	if (!loop)
		return;
	struct post *p = loop->head;
	while (p) {
		struct post *next = p->next;
		free(p);
		p = next;
	}
	sp_timers_free(&loop->timers);
	free(loop->slots);
	close(loop->epfd);
	close(loop->wakefd);
	pthread_mutex_destroy(&loop->lock);
	free(loop);
}

static uint32_t to_epoll(unsigned events)
{
	uint32_t e = 0;
	if (events & SP_IO_READ)
		e |= EPOLLIN | EPOLLRDHUP;
	if (events & SP_IO_WRITE)
		e |= EPOLLOUT;
	return e;
}

static int grow(struct sp_loop *loop, int fd)
{
	size_t want = (size_t)fd + 1;
	if (want <= loop->nslots)
		return 0;
	if (want > SP_LOOP_MAX_FD)
		return SP_E2BIG;
	size_t n = loop->nslots ? loop->nslots : 64;
	while (n < want)
		n *= 2;
	struct slot *s = realloc(loop->slots, n * sizeof(*s));
	if (!s)
		return SP_ENOMEM;
	memset(s + loop->nslots, 0, (n - loop->nslots) * sizeof(*s));
	loop->slots = s;
	loop->nslots = n;
	return 0;
}

int sp_loop_fd_add(struct sp_loop *loop, int fd, unsigned events, sp_io_h cb, void *arg)
{
	if (fd < 0 || !cb)
		return SP_EINVAL;
	int ret = grow(loop, fd);
	if (ret < 0)
		return ret;
	struct slot *s = &loop->slots[fd];
	if (s->used)
		return SP_EINVAL;
	s->gen++;
	struct epoll_event ev = { .events = to_epoll(events),
				  .data.u64 = (uint64_t)s->gen << 32 | (uint32_t)fd };
	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		sp_log(SP_LOG_ERR, "loop: epoll add fd %d: %s", fd, strerror(errno));
		return SP_EINVAL;
	}
	s->cb = cb;
	s->arg = arg;
	s->events = events;
	s->used = true;
	return 0;
}

int sp_loop_fd_mod(struct sp_loop *loop, int fd, unsigned events)
{
	if (fd < 0 || (size_t)fd >= loop->nslots || !loop->slots[fd].used)
		return SP_ENOENT;
	struct slot *s = &loop->slots[fd];
	if (s->events == events)
		return 0;
	struct epoll_event ev = { .events = to_epoll(events),
				  .data.u64 = (uint64_t)s->gen << 32 | (uint32_t)fd };
	if (epoll_ctl(loop->epfd, EPOLL_CTL_MOD, fd, &ev) < 0)
		return SP_EINVAL;
	s->events = events;
	return 0;
}

void sp_loop_fd_del(struct sp_loop *loop, int fd)
{
	if (fd < 0 || (size_t)fd >= loop->nslots || !loop->slots[fd].used)
		return;
	struct slot *s = &loop->slots[fd];
	epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL);
	s->used = false;
	s->cb = NULL;
	s->arg = NULL;
	s->gen++;
}

struct sp_timers *sp_loop_timers(struct sp_loop *loop)
{
	return &loop->timers;
}

uint64_t sp_loop_now(const struct sp_loop *loop)
{
	return loop->now;
}

int sp_loop_post(struct sp_loop *loop, sp_post_h fn, void *arg)
{
	struct post *p = malloc(sizeof(*p));
	if (!p)
		return SP_ENOMEM;
	p->next = NULL;
	p->fn = fn;
	p->arg = arg;
	pthread_mutex_lock(&loop->lock);
	if (loop->tail)
		loop->tail->next = p;
	else
		loop->head = p;
	loop->tail = p;
	pthread_mutex_unlock(&loop->lock);
	uint64_t one = 1;
	ssize_t w = write(loop->wakefd, &one, sizeof(one));
	(void)w; /* EAGAIN means the counter is already non-zero: the loop will wake */
	return 0;
}

void sp_loop_stop(struct sp_loop *loop)
{
	atomic_store(&loop->stop, true);
	uint64_t one = 1;
	ssize_t w = write(loop->wakefd, &one, sizeof(one));
	(void)w;
}

/* Takes the whole queue under the lock and runs it outside, so posted work
 * may post again (it then runs on the next wake-up, not in this loop). */
static void run_posted(struct sp_loop *loop)
{
	uint64_t cnt;
	ssize_t r = read(loop->wakefd, &cnt, sizeof(cnt));
	(void)r;
	pthread_mutex_lock(&loop->lock);
	struct post *p = loop->head;
	loop->head = loop->tail = NULL;
	pthread_mutex_unlock(&loop->lock);
	while (p) {
		struct post *next = p->next;
		p->fn(p->arg);
		free(p);
		p = next;
	}
}

static int wait_timeout(struct sp_loop *loop)
{
	uint64_t next = sp_timers_next(&loop->timers);
	if (next == UINT64_MAX)
		return -1;
	if (next <= loop->now)
		return 0;
	uint64_t d = next - loop->now;
	return d > INT_MAX ? INT_MAX : (int)d;
}

int sp_loop_run(struct sp_loop *loop)
{
	struct epoll_event evs[SP_LOOP_BATCH];
	int ret = 0;

	while (!atomic_load(&loop->stop)) {
		loop->now = sp_now_ms();
		sp_timers_run(&loop->timers, loop->now);
		if (atomic_load(&loop->stop))
			break;
		int n = epoll_wait(loop->epfd, evs, SP_LOOP_BATCH, wait_timeout(loop));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			sp_log(SP_LOG_ERR, "loop: epoll_wait: %s", strerror(errno));
			ret = SP_EINVAL;
			break;
		}
		loop->now = sp_now_ms();
		for (int i = 0; i < n; i++) {
			uint64_t tag = evs[i].data.u64;
			if (tag == SP_LOOP_WAKE_TAG) {
				run_posted(loop);
				continue;
			}
			int fd = (int)(uint32_t)tag;
			uint32_t gen = (uint32_t)(tag >> 32);
			if ((size_t)fd >= loop->nslots)
				continue;
			struct slot *s = &loop->slots[fd];
			if (!s->used || s->gen != gen)
				continue; /* deleted (or replaced) earlier in this batch */
			unsigned e = 0;
			if (evs[i].events & (EPOLLIN | EPOLLRDHUP))
				e |= SP_IO_READ;
			if (evs[i].events & EPOLLOUT)
				e |= SP_IO_WRITE;
			if (evs[i].events & (EPOLLERR | EPOLLHUP))
				e |= SP_IO_ERROR;
			s->cb(fd, e, s->arg);
		}
	}
	atomic_store(&loop->stop, false);
	return ret;
}
