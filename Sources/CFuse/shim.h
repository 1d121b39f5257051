#ifndef TENSORFS_CFUSE_SHIM_H
#define TENSORFS_CFUSE_SHIM_H

#define FUSE_USE_VERSION 34
#include <fuse_lowlevel.h>
#include <spawn.h>
#include <malloc.h>
#include <sys/prctl.h>
#include <sys/vfs.h>
#include <sys/ioctl.h>
#include <stdint.h>

/// The 3.12 loop, which takes a limit on worker threads. With FUSE_USE_VERSION 34 the header
/// names only the older entry point, so this declares the one the library exports by default.
int fuse_session_loop_mt_312(struct fuse_session *se, struct fuse_loop_config *config);

/// Runs the multi-threaded loop with at most `max_threads` workers, all reading the session's
/// device descriptor.
static inline int cfuse_session_loop_threads(struct fuse_session *se, unsigned int max_threads) {
    struct fuse_loop_config *config = fuse_loop_cfg_create();
    if (config == NULL) return -1;
    fuse_loop_cfg_set_max_threads(config, max_threads);
    int status = fuse_session_loop_mt_312(se, config);
    fuse_loop_cfg_destroy(config);
    return status;
}

/// glibc's flag for `posix_spawnattr_setflags` that starts the child in a new session,
/// POSIX_SPAWN_SETSID in <spawn.h>. That header shows it only under _GNU_SOURCE, and defining
/// _GNU_SOURCE here would give this module other glibc declarations than Swift's Glibc module
/// (`fd_set` differs), which breaks clean builds.
static const short cfuse_posix_spawn_setsid = 0x80;

/// `statfs` on `path`, giving only the filesystem's type (its magic number) in `type`. Swift
/// cannot tell the function `statfs` from the struct of the same name.
static inline int cfuse_filesystem_type(const char *path, long *type) {
    struct statfs status;
    int result = statfs(path, &status);
    if (result == 0) *type = (long)status.f_type;
    return result;
}

/// Asks the kernel to send `signal` to this process when the thread that started it ends (0
/// clears it). `prctl` is variadic, which Swift cannot call.
static inline int cfuse_set_parent_death_signal(int signal) {
    return prctl(PR_SET_PDEATHSIG, (unsigned long)signal, 0UL, 0UL, 0UL);
}

/// FUSE passthrough (Linux 6.9+), which libfuse 3.14 predates: the kernel ABI's pieces, written
/// out here because Debian 12's kernel headers (6.1) lack them. `fuse_backing_map` registers an
/// open file with the FUSE device (FUSE_DEV_IOC_BACKING_OPEN, `_IOW(229, 1, ...)`); its id goes
/// into open replies; FUSE_DEV_IOC_BACKING_CLOSE (`_IOW(229, 2, uint32_t)`) lets it go.
struct cfuse_backing_map {
    int32_t fd;
    uint32_t flags;
    uint64_t padding;
};

/// Registers the open file `fd` with the FUSE device `device`: its backing id, or -1 and errno.
static inline int cfuse_backing_open(int device, int fd) {
    struct cfuse_backing_map map = { fd, 0, 0 };
    return ioctl(device, _IOW(229, 1, struct cfuse_backing_map), &map);
}

/// Lets go of backing id `id` of the FUSE device `device`.
static inline int cfuse_backing_close(int device, int id) {
    uint32_t backing = (uint32_t)id;
    return ioctl(device, _IOW(229, 2, uint32_t), &backing);
}

/// Answers an open with the kernel's `fuse_open_out` as Linux 6.9 reads it: file handle `fh`,
/// FOPEN_PASSTHROUGH (1 << 7), and the backing file's id (libfuse 3.14 would send 0 there).
static inline int cfuse_reply_open_passthrough(fuse_req_t request, uint64_t fh, int32_t backing_id) {
    struct { uint64_t fh; uint32_t open_flags; int32_t backing_id; } reply = { fh, 1u << 7, backing_id };
    return fuse_reply_buf(request, (const char *)&reply, sizeof reply);
}

#endif
