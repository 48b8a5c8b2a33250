/*
 * Preloaded into componentize-py (LD_PRELOAD) so that building a Python
 * plugin gives the same bytes every time, on any machine.
 *
 * componentize-py runs CPython inside wasmtime at build time and snapshots
 * its memory into the component. Everything the interpreter reads from the
 * host during that run ends up in the snapshot, directly or as leftovers in
 * freed memory: random bytes (the string hash seed, `random`'s state),
 * clocks, file timestamps and inode numbers. This library answers those
 * questions the same way every time:
 *
 *   - getrandom / getentropy / syscall(SYS_getrandom): a fixed byte stream;
 *   - clock_gettime: a fixed wall clock (2000-01-01) and a frozen monotonic
 *     clock;
 *   - stat / statx (and their syscall forms): fixed timestamps, device and
 *     inode;
 *   - readdir64: entries sorted by name.
 *
 * Some stat calls bypass libc (rustix issues raw syscalls), so
 * `componentize.sh` also runs the build on a fresh tmpfs, where inode
 * numbers are handed out in creation order. The running plugin reseeds its
 * random generator on its first call (componentize-py does so), so fixed
 * build-time randomness costs nothing at run time except a fixed string hash
 * seed, which is acceptable for a plugin that gets a fresh instance per call.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

/* 2000-01-01T00:00:00Z: what every wall clock and file timestamp reads. */
#define EPOCH 946684800

static void fill(void *buf, size_t len) {
    unsigned char *p = buf;
    unsigned long long x = 0x9E3779B97F4A7C15ULL;
    for (size_t i = 0; i < len; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        p[i] = (unsigned char)x;
    }
}

static void fix_stat(struct stat *st) {
    st->st_dev = 1;
    st->st_ino = 1;
    st->st_atim.tv_sec = st->st_mtim.tv_sec = st->st_ctim.tv_sec = EPOCH;
    st->st_atim.tv_nsec = st->st_mtim.tv_nsec = st->st_ctim.tv_nsec = 0;
}

static void fix_statx(struct statx *st) {
    st->stx_ino = 1;
    st->stx_dev_major = 0;
    st->stx_dev_minor = 1;
    st->stx_atime.tv_sec = st->stx_mtime.tv_sec = EPOCH;
    st->stx_ctime.tv_sec = st->stx_btime.tv_sec = EPOCH;
    st->stx_atime.tv_nsec = st->stx_mtime.tv_nsec = 0;
    st->stx_ctime.tv_nsec = st->stx_btime.tv_nsec = 0;
}

/* The next definition of `name` (libc's), looked up once. */
#define REAL(name) \
    static __typeof__(&name) real_##name = NULL; \
    if (!real_##name) real_##name = (__typeof__(&name))dlsym(RTLD_NEXT, #name)

ssize_t getrandom(void *buf, size_t len, unsigned int flags) {
    (void)flags;
    fill(buf, len);
    return (ssize_t)len;
}

int getentropy(void *buf, size_t len) {
    fill(buf, len);
    return 0;
}

long syscall(long n, ...) {
    va_list ap;
    va_start(ap, n);
    long a[6];
    for (int i = 0; i < 6; i++) a[i] = va_arg(ap, long);
    va_end(ap);
    if (n == SYS_getrandom) {
        fill((void *)a[0], (size_t)a[1]);
        return a[1];
    }
    REAL(syscall);
    long rc = real_syscall(n, a[0], a[1], a[2], a[3], a[4], a[5]);
    if (rc == 0 && n == SYS_statx) fix_statx((struct statx *)a[4]);
    if (rc == 0 && n == SYS_newfstatat) fix_stat((struct stat *)a[2]);
    if (rc == 0 && (n == SYS_fstat || n == SYS_stat || n == SYS_lstat)) fix_stat((struct stat *)a[1]);
    return rc;
}

int clock_gettime(clockid_t id, struct timespec *ts) {
    REAL(clock_gettime);
    switch (id) {
    case CLOCK_REALTIME:
    case CLOCK_REALTIME_COARSE:
        ts->tv_sec = EPOCH;
        ts->tv_nsec = 0;
        return 0;
    case CLOCK_MONOTONIC:
    case CLOCK_MONOTONIC_COARSE:
    case CLOCK_MONOTONIC_RAW:
    case CLOCK_BOOTTIME:
        ts->tv_sec = 1000;
        ts->tv_nsec = 0;
        return 0;
    default:
        return real_clock_gettime(id, ts);
    }
}

int statx(int dir, const char *path, int flags, unsigned int mask, struct statx *st) {
    REAL(statx);
    int rc = real_statx(dir, path, flags, mask, st);
    if (rc == 0) fix_statx(st);
    return rc;
}

int __xstat64(int v, const char *path, struct stat *st) {
    REAL(__xstat64);
    int rc = real___xstat64(v, path, st);
    if (rc == 0) fix_stat(st);
    return rc;
}

int __lxstat64(int v, const char *path, struct stat *st) {
    REAL(__lxstat64);
    int rc = real___lxstat64(v, path, st);
    if (rc == 0) fix_stat(st);
    return rc;
}

int __fxstat64(int v, int fd, struct stat *st) {
    REAL(__fxstat64);
    int rc = real___fxstat64(v, fd, st);
    if (rc == 0) fix_stat(st);
    return rc;
}

int __fxstatat64(int v, int dir, const char *path, struct stat *st, int flags) {
    REAL(__fxstatat64);
    int rc = real___fxstatat64(v, dir, path, st, flags);
    if (rc == 0) fix_stat(st);
    return rc;
}

/* Directory listings, read whole on the first readdir64 and served sorted. */
#define MAX_OPEN_DIRS 256

struct sorted_dir {
    DIR *dir;
    struct dirent64 *entries;
    size_t count, next;
};

static struct sorted_dir dirs[MAX_OPEN_DIRS];
static pthread_mutex_t dirs_lock = PTHREAD_MUTEX_INITIALIZER;

static int by_name(const void *a, const void *b) {
    return strcmp(((const struct dirent64 *)a)->d_name, ((const struct dirent64 *)b)->d_name);
}

static void read_sorted(struct sorted_dir *slot, struct dirent64 *(*next)(DIR *)) {
    size_t capacity = 0;
    struct dirent64 *entry;
    while ((entry = next(slot->dir))) {
        if (slot->count == capacity) {
            capacity = capacity ? capacity * 2 : 64;
            slot->entries = realloc(slot->entries, capacity * sizeof *entry);
        }
        memcpy(&slot->entries[slot->count], entry, sizeof *entry);
        slot->entries[slot->count++].d_ino = 1;
    }
    qsort(slot->entries, slot->count, sizeof *slot->entries, by_name);
}

struct dirent64 *readdir64(DIR *dir) {
    REAL(readdir64);
    pthread_mutex_lock(&dirs_lock);
    struct sorted_dir *slot = NULL, *unused = NULL;
    for (int i = 0; i < MAX_OPEN_DIRS && !slot; i++) {
        if (dirs[i].dir == dir) slot = &dirs[i];
        else if (!dirs[i].dir && !unused) unused = &dirs[i];
    }
    if (!slot && !unused) {
        pthread_mutex_unlock(&dirs_lock);
        return real_readdir64(dir);
    }
    if (!slot) {
        slot = unused;
        *slot = (struct sorted_dir){ .dir = dir };
        read_sorted(slot, real_readdir64);
    }
    struct dirent64 *out = slot->next < slot->count ? &slot->entries[slot->next++] : NULL;
    pthread_mutex_unlock(&dirs_lock);
    return out;
}

int closedir(DIR *dir) {
    REAL(closedir);
    pthread_mutex_lock(&dirs_lock);
    for (int i = 0; i < MAX_OPEN_DIRS; i++) {
        if (dirs[i].dir == dir) {
            free(dirs[i].entries);
            dirs[i] = (struct sorted_dir){ 0 };
        }
    }
    pthread_mutex_unlock(&dirs_lock);
    return real_closedir(dir);
}
