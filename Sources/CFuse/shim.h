#ifndef TENSORFS_CFUSE_SHIM_H
#define TENSORFS_CFUSE_SHIM_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#define FUSE_USE_VERSION 34
#include <fuse_lowlevel.h>
#include <spawn.h>
#include <malloc.h>

/// `fuse_session_loop_mt` is a macro that Swift cannot see; this names the function it selects.
static inline int cfuse_session_loop_mt(struct fuse_session *se, struct fuse_loop_config *config) {
    return fuse_session_loop_mt(se, config);
}

/// glibc's flag for `posix_spawnattr_setflags` that starts the child in a new session
/// (visible only with _GNU_SOURCE, which Swift's Glibc module does not set).
static const short cfuse_posix_spawn_setsid = POSIX_SPAWN_SETSID;

#endif
