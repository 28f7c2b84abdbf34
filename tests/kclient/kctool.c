// kctool: the few system calls the kclient guest scenario needs and busybox
// lacks (rename(2) of a directory over another, fcntl and flock locks,
// pread(2) on an inherited descriptor). Built static on the host and shipped
// into the guest's /extra/.
//
//   kctool rename OLD NEW
//   kctool pread FD
//   kctool lock  hold|try|wait|test  r|w  FILE START LEN [SECONDS]
//   kctool flock hold|try|wait            FILE [SECONDS]
//
// hold: takes the lock without waiting, prints "held", keeps it SECONDS,
//       prints "releasing at T" (T: CLOCK_MONOTONIC ms) and unlocks.
// try:  takes the lock without waiting and releases it.
// wait: blocks until the lock is granted; prints "granted at T after N ms".
// test: F_GETLK; reports whether a conflicting lock exists.
// pread: copies the open file FD (inherited from the shell, e.g. `exec 5<f`)
//        from offset 0 to its end to stdout with pread(2), so the fd's own
//        offset and open state stay as they are: reads through an fd opened
//        before a change, without the revalidation a fresh open would do.
// Exit status: 0 granted / no conflict, 3 denied / conflict, 1 error
// (message on stderr), 2 usage.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

enum { kGranted = 0, kError = 1, kUsage = 2, kDenied = 3 };

static int usage(void) {
  fprintf(stderr,
          "usage: kctool rename OLD NEW\n"
          "       kctool pread FD\n"
          "       kctool lock hold|try|wait|test r|w FILE START LEN [SECONDS]\n"
          "       kctool flock hold|try|wait FILE [SECONDS]\n");
  return kUsage;
}

static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int is_denial(int err) { return err == EAGAIN || err == EACCES || err == EWOULDBLOCK; }

static int open_rw(const char* path) {
  int fd = open(path, O_RDWR | O_CREAT, 0644);
  if (fd < 0) fprintf(stderr, "kctool: open %s: %s\n", path, strerror(errno));
  return fd;
}

static void hold_for(const char* seconds) {
  printf("held\n");
  fflush(stdout);
  sleep(seconds ? (unsigned)atoi(seconds) : 5);
  printf("releasing at %lld\n", now_ms());
  fflush(stdout);
}

static int do_fcntl_lock(int argc, char** argv) {
  if (argc < 7) return usage();
  const char* mode = argv[2];
  int fd = open_rw(argv[4]);
  if (fd < 0) return kError;
  struct flock fl = {0};
  fl.l_type = strcmp(argv[3], "r") == 0 ? F_RDLCK : F_WRLCK;
  fl.l_whence = SEEK_SET;
  fl.l_start = atoll(argv[5]);
  fl.l_len = atoll(argv[6]);

  if (strcmp(mode, "test") == 0) {
    if (fcntl(fd, F_GETLK, &fl) != 0) {
      fprintf(stderr, "kctool: F_GETLK: %s\n", strerror(errno));
      return kError;
    }
    if (fl.l_type == F_UNLCK) return kGranted;
    printf("conflict %s %lld+%lld\n", fl.l_type == F_WRLCK ? "w" : "r", (long long)fl.l_start,
           (long long)fl.l_len);
    return kDenied;
  }
  long long t0 = now_ms();
  int cmd = strcmp(mode, "wait") == 0 ? F_SETLKW : F_SETLK;
  if (fcntl(fd, cmd, &fl) != 0) {
    if (cmd == F_SETLK && is_denial(errno)) return kDenied;
    fprintf(stderr, "kctool: fcntl lock: %s\n", strerror(errno));
    return kError;
  }
  if (strcmp(mode, "hold") == 0) {
    hold_for(argc > 7 ? argv[7] : NULL);
  } else if (strcmp(mode, "wait") == 0) {
    long long t1 = now_ms();
    printf("granted at %lld after %lld ms\n", t1, t1 - t0);
  } else if (strcmp(mode, "try") != 0) {
    return usage();
  }
  fl.l_type = F_UNLCK;
  if (fcntl(fd, F_SETLK, &fl) != 0) {
    fprintf(stderr, "kctool: unlock: %s\n", strerror(errno));
    return kError;
  }
  return close(fd) == 0 ? kGranted : kError;
}

static int do_flock(int argc, char** argv) {
  if (argc < 4) return usage();
  const char* mode = argv[2];
  int fd = open_rw(argv[3]);
  if (fd < 0) return kError;
  long long t0 = now_ms();
  int op = LOCK_EX | (strcmp(mode, "wait") == 0 ? 0 : LOCK_NB);
  if (flock(fd, op) != 0) {
    if ((op & LOCK_NB) && is_denial(errno)) return kDenied;
    fprintf(stderr, "kctool: flock: %s\n", strerror(errno));
    return kError;
  }
  if (strcmp(mode, "hold") == 0) {
    hold_for(argc > 4 ? argv[4] : NULL);
  } else if (strcmp(mode, "wait") == 0) {
    long long t1 = now_ms();
    printf("granted at %lld after %lld ms\n", t1, t1 - t0);
  } else if (strcmp(mode, "try") != 0) {
    return usage();
  }
  if (flock(fd, LOCK_UN) != 0) {
    fprintf(stderr, "kctool: flock unlock: %s\n", strerror(errno));
    return kError;
  }
  return close(fd) == 0 ? kGranted : kError;
}

static int do_pread(int argc, char** argv) {
  if (argc != 3) return usage();
  int fd = atoi(argv[2]);
  char buf[65536];
  off_t off = 0;
  for (;;) {
    ssize_t n = pread(fd, buf, sizeof(buf), off);
    if (n < 0) {
      fprintf(stderr, "kctool: pread fd %d at %lld: %s\n", fd, (long long)off, strerror(errno));
      return kError;
    }
    if (n == 0) return kGranted;
    if (fwrite(buf, 1, (size_t)n, stdout) != (size_t)n) {
      fprintf(stderr, "kctool: write to stdout: %s\n", strerror(errno));
      return kError;
    }
    off += n;
  }
}

int main(int argc, char** argv) {
  if (argc < 2) return usage();
  if (strcmp(argv[1], "rename") == 0) {
    if (argc != 4) return usage();
    if (rename(argv[2], argv[3]) != 0) {
      fprintf(stderr, "kctool: rename %s %s: %s\n", argv[2], argv[3], strerror(errno));
      return kError;
    }
    return kGranted;
  }
  if (strcmp(argv[1], "lock") == 0) return do_fcntl_lock(argc, argv);
  if (strcmp(argv[1], "flock") == 0) return do_flock(argc, argv);
  if (strcmp(argv[1], "pread") == 0) return do_pread(argc, argv);
  return usage();
}
