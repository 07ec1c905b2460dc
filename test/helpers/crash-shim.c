/*
 * crash-shim: an LD_PRELOAD library that counts the file-changing system calls of a whole
 * process tree and SIGKILLs the tree at the Nth one (before it happens).
 *
 *   CX_CRASH_COUNTER=FILE  a file of at least 8 bytes, mapped shared by every process of the
 *                          tree: the count lives there (atomic), so the Nth change of the run is
 *                          counted across processes and threads alike.
 *   CX_CRASH_AT=N          kill at the Nth change (0 or unset: only count).
 *   CX_CRASH_PGID=PGID     the process group to kill; unset, the first process of the tree
 *                          sets it to its own group (start the command detached, so that the
 *                          group is the command's own). The calling process is killed as
 *                          well, whatever its group.
 *
 *   CX_CRASH_SKIP_WRITES=1 do not count writes of data (only creating opens, rename, link,
 *                          symlink, unlink, mkdir, rmdir, chmod, chown, truncate): fewer kill
 *                          points, each at a step that changes what a path is.
 *
 * A change is: a write to a regular file, an open that creates or truncates, rename, link,
 * symlink, unlink, mkdir, rmdir, chmod, chown and truncate (and their *at / f* forms).
 * Calls to cx-ops' terminal, pipes and sockets are not changes (only regular files count).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

static volatile uint64_t *counter;
static uint64_t crash_at;
static pid_t crash_pgid;
static int skip_writes;

__attribute__((constructor)) static void crash_init(void) {
  const char *path = getenv("CX_CRASH_COUNTER");
  if (!path) return;
  int fd = (int)syscall(SYS_openat, AT_FDCWD, path, O_RDWR | O_CLOEXEC);
  if (fd < 0) return;
  void *p = mmap(NULL, 8, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  syscall(SYS_close, fd);
  if (p == MAP_FAILED) return;
  counter = (volatile uint64_t *)p;
  const char *at = getenv("CX_CRASH_AT");
  crash_at = at ? strtoull(at, NULL, 10) : 0;
  const char *sw = getenv("CX_CRASH_SKIP_WRITES");
  skip_writes = sw && sw[0] == '1';
  const char *pg = getenv("CX_CRASH_PGID");
  if (pg) {
    crash_pgid = (pid_t)atoi(pg);
  } else {
    char buf[32];
    crash_pgid = getpgrp();
    snprintf(buf, sizeof buf, "%d", (int)crash_pgid);
    setenv("CX_CRASH_PGID", buf, 1);
  }
}

/* Counts one change; kills the tree when it is the chosen one. */
static void change(void) {
  if (!counter) return;
  uint64_t n = __atomic_add_fetch(counter, 1, __ATOMIC_SEQ_CST);
  if (crash_at && n == crash_at) {
    if (crash_pgid > 0) kill(-crash_pgid, SIGKILL);
    kill(getpid(), SIGKILL);
  }
}

static int regular_fd(int fd) {
  struct stat st;
  return !skip_writes && fd > 2 && syscall(SYS_fstat, fd, &st) == 0 && S_ISREG(st.st_mode);
}

#define REAL(name) static __typeof__(name) *real_##name; if (!real_##name) real_##name = dlsym(RTLD_NEXT, #name)

ssize_t write(int fd, const void *buf, size_t n) { REAL(write); if (n && regular_fd(fd)) change(); return real_write(fd, buf, n); }
ssize_t pwrite(int fd, const void *buf, size_t n, off_t o) { REAL(pwrite); if (n && regular_fd(fd)) change(); return real_pwrite(fd, buf, n, o); }
ssize_t pwrite64(int fd, const void *buf, size_t n, off_t o) { REAL(pwrite64); if (n && regular_fd(fd)) change(); return real_pwrite64(fd, buf, n, o); }
ssize_t writev(int fd, const struct iovec *v, int c) { REAL(writev); if (regular_fd(fd)) change(); return real_writev(fd, v, c); }
ssize_t pwritev(int fd, const struct iovec *v, int c, off_t o) { REAL(pwritev); if (regular_fd(fd)) change(); return real_pwritev(fd, v, c, o); }
ssize_t pwritev64(int fd, const struct iovec *v, int c, off_t o) { REAL(pwritev64); if (regular_fd(fd)) change(); return real_pwritev64(fd, v, c, o); }

/* An open changes the tree when it truncates, or creates a file that is not there yet. */
static int creates_at(int dirfd, const char *p, int flags) {
  if (flags & O_TRUNC) return 1;
  if (!(flags & O_CREAT)) return 0;
  struct stat st;
  return syscall(SYS_newfstatat, dirfd, p, &st, 0) != 0;
}
#define creates(flags) creates_at(AT_FDCWD, p, flags)
int open(const char *p, int flags, ...) {
  REAL(open); va_list a; va_start(a, flags); mode_t m = (flags & (O_CREAT | O_TMPFILE)) ? va_arg(a, mode_t) : 0; va_end(a);
  if (creates(flags)) change(); return real_open(p, flags, m);
}
int open64(const char *p, int flags, ...) {
  REAL(open64); va_list a; va_start(a, flags); mode_t m = (flags & (O_CREAT | O_TMPFILE)) ? va_arg(a, mode_t) : 0; va_end(a);
  if (creates(flags)) change(); return real_open64(p, flags, m);
}
int openat(int d, const char *p, int flags, ...) {
  REAL(openat); va_list a; va_start(a, flags); mode_t m = (flags & (O_CREAT | O_TMPFILE)) ? va_arg(a, mode_t) : 0; va_end(a);
  if (creates_at(d, p, flags)) change(); return real_openat(d, p, flags, m);
}
int openat64(int d, const char *p, int flags, ...) {
  REAL(openat64); va_list a; va_start(a, flags); mode_t m = (flags & (O_CREAT | O_TMPFILE)) ? va_arg(a, mode_t) : 0; va_end(a);
  if (creates_at(d, p, flags)) change(); return real_openat64(d, p, flags, m);
}
int creat(const char *p, mode_t m) { REAL(creat); change(); return real_creat(p, m); }
int rename(const char *a, const char *b) { REAL(rename); change(); return real_rename(a, b); }
int renameat(int x, const char *a, int y, const char *b) { REAL(renameat); change(); return real_renameat(x, a, y, b); }
int renameat2(int x, const char *a, int y, const char *b, unsigned f) { REAL(renameat2); change(); return real_renameat2(x, a, y, b, f); }
int link(const char *a, const char *b) { REAL(link); change(); return real_link(a, b); }
int linkat(int x, const char *a, int y, const char *b, int f) { REAL(linkat); change(); return real_linkat(x, a, y, b, f); }
int symlink(const char *a, const char *b) { REAL(symlink); change(); return real_symlink(a, b); }
int symlinkat(const char *a, int d, const char *b) { REAL(symlinkat); change(); return real_symlinkat(a, d, b); }
int unlink(const char *p) { REAL(unlink); change(); return real_unlink(p); }
int unlinkat(int d, const char *p, int f) { REAL(unlinkat); change(); return real_unlinkat(d, p, f); }
int mkdir(const char *p, mode_t m) { REAL(mkdir); change(); return real_mkdir(p, m); }
int mkdirat(int d, const char *p, mode_t m) { REAL(mkdirat); change(); return real_mkdirat(d, p, m); }
int rmdir(const char *p) { REAL(rmdir); change(); return real_rmdir(p); }
int chmod(const char *p, mode_t m) { REAL(chmod); change(); return real_chmod(p, m); }
int fchmod(int fd, mode_t m) { REAL(fchmod); change(); return real_fchmod(fd, m); }
int fchmodat(int d, const char *p, mode_t m, int f) { REAL(fchmodat); change(); return real_fchmodat(d, p, m, f); }
int chown(const char *p, uid_t u, gid_t g) { REAL(chown); change(); return real_chown(p, u, g); }
int lchown(const char *p, uid_t u, gid_t g) { REAL(lchown); change(); return real_lchown(p, u, g); }
int fchown(int fd, uid_t u, gid_t g) { REAL(fchown); change(); return real_fchown(fd, u, g); }
int fchownat(int d, const char *p, uid_t u, gid_t g, int f) { REAL(fchownat); change(); return real_fchownat(d, p, u, g, f); }
int truncate(const char *p, off_t l) { REAL(truncate); change(); return real_truncate(p, l); }
int ftruncate(int fd, off_t l) { REAL(ftruncate); change(); return real_ftruncate(fd, l); }
int ftruncate64(int fd, off_t l) { REAL(ftruncate64); change(); return real_ftruncate64(fd, l); }
