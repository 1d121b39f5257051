#ifndef TENSORFS_CFUSE_SHIM_H
#define TENSORFS_CFUSE_SHIM_H

#define FUSE_USE_VERSION 34
#include <fuse_lowlevel.h>
#include <spawn.h>
#include <malloc.h>
#include <sys/prctl.h>
#include <sys/vfs.h>

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

#endif
