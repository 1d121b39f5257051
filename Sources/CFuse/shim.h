#ifndef TENSORFS_CFUSE_SHIM_H
#define TENSORFS_CFUSE_SHIM_H

#define FUSE_USE_VERSION 34
#include <fuse_lowlevel.h>
#include <spawn.h>

/// `fuse_session_loop_mt` is a macro that Swift cannot see; this names the function it selects.
static inline int cfuse_session_loop_mt(struct fuse_session *se, struct fuse_loop_config *config) {
    return fuse_session_loop_mt(se, config);
}

/// glibc's flag for `posix_spawnattr_setflags` that starts the child in a new session,
/// POSIX_SPAWN_SETSID in <spawn.h>. That header shows it only under _GNU_SOURCE, and defining
/// _GNU_SOURCE here would give this module other glibc declarations than Swift's Glibc module
/// (`fd_set` differs), which breaks clean builds.
static const short cfuse_posix_spawn_setsid = 0x80;

#endif
