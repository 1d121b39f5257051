#!/usr/bin/env bash
# Builds tensorfs (release) and installs it under PREFIX (default /usr/local):
#   PREFIX/bin/tensorfs                    the command
#   PREFIX/sbin/mount.fuse.tensorfs        the helper mount(8) runs for type fuse.tensorfs (a link)
#   PREFIX/share/man/man1/tensorfs.1       the manual (`man tensorfs`), and mount.fuse.tensorfs(8)
#   PREFIX/share/bash-completion/completions/tensorfs, .../zsh/site-functions/_tensorfs,
#   PREFIX/share/fish/vendor_completions.d/tensorfs.fish   shell completions
# With TENSORFS_BIN set, that binary is installed instead of a new release build.
# Usage: scripts/install.sh [PREFIX]
set -euo pipefail
cd "$(dirname "$0")/.."

PREFIX=${1:-/usr/local}
if [ -n "${TENSORFS_BIN:-}" ]; then
  BIN=$TENSORFS_BIN
else
  echo "install: building tensorfs (release)" >&2
  swift build -c release --product tensorfs
  BIN="$(swift build -c release --show-bin-path)/tensorfs"
fi

MAN="$PREFIX/share/man"
BASH_COMPLETIONS="$PREFIX/share/bash-completion/completions"
ZSH_COMPLETIONS="$PREFIX/share/zsh/site-functions"
FISH_COMPLETIONS="$PREFIX/share/fish/vendor_completions.d"
install -d "$PREFIX/bin" "$PREFIX/sbin" "$MAN/man1" "$MAN/man8" "$BASH_COMPLETIONS" "$ZSH_COMPLETIONS" "$FISH_COMPLETIONS"

install -m 0755 "$BIN" "$PREFIX/bin/tensorfs"
ln -sfn ../bin/tensorfs "$PREFIX/sbin/mount.fuse.tensorfs"

scripts/manual.py "$PREFIX/bin/tensorfs" > "$MAN/man1/tensorfs.1"
echo ".so man1/tensorfs.1" > "$MAN/man8/mount.fuse.tensorfs.8"
"$PREFIX/bin/tensorfs" --generate-completion-script bash > "$BASH_COMPLETIONS/tensorfs"
"$PREFIX/bin/tensorfs" --generate-completion-script zsh > "$ZSH_COMPLETIONS/_tensorfs"
"$PREFIX/bin/tensorfs" --generate-completion-script fish > "$FISH_COMPLETIONS/tensorfs.fish"

echo "install: tensorfs $("$PREFIX/bin/tensorfs" --version) is in $PREFIX/bin" >&2
case "$(cd "$PREFIX/sbin" && pwd -P)" in
  /sbin | /usr/sbin) ;;
  *)
    echo "install: mount -t fuse.tensorfs and /etc/fstab reach tensorfs through mount.fuse3 (package fuse3)," >&2
    echo "install: which finds it on the default path (/usr/local/bin, /usr/bin); for mount(8) to run the" >&2
    echo "install: helper itself: ln -s $PREFIX/sbin/mount.fuse.tensorfs /sbin/" >&2
    ;;
esac
