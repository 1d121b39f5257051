#ifndef TENSORFS_CFUSE_SHIM_H
#define TENSORFS_CFUSE_SHIM_H

#define FUSE_USE_VERSION 34
#include <fuse_lowlevel.h>
#include <spawn.h>

/// `fuse_session_loop_mt` is a macro that Swift cannot see; this names the function it selects.
static inline int cfuse_session_loop_mt(struct fuse_session *se, struct fuse_loop_config *config) {
    return fuse_session_loop_mt(se, config);
}

/// glibc's flag for `posix_spawnattr_setflags` that starts the child in a new session
/// (POSIX_SPAWN_SETSID in <spawn.h>). Its header shows it only with _GNU_SOURCE, and defining
/// that here would give this module other system types than Swift's Glibc module (fd_set's
/// members differ), which clean builds reject as conflicting definitions.
static const short cfuse_posix_spawn_setsid = 0x80;

#endif
