#ifndef TENSORFS_CFUSE_SHIM_H
#define TENSORFS_CFUSE_SHIM_H

#define FUSE_USE_VERSION 34
#include <fuse_lowlevel.h>

/// `fuse_session_loop_mt` is a macro that Swift cannot see; this names the function it selects.
static inline int cfuse_session_loop_mt(struct fuse_session *se, struct fuse_loop_config *config) {
    return fuse_session_loop_mt(se, config);
}

#endif
