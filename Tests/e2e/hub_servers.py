"""Stand-ins for the Hugging Face Hub on 127.0.0.1: nginx laid out as the Hub's URL scheme
(static files under /ORG/NAME/resolve/REVISION/, static JSON for the API routes, the headers a
client relies on), and olah, a self-hosted Hub mirror from PyPI, serving a local git repository
offline (it answers range requests with the whole file)."""
import hashlib
import json
import os
import pathlib
import shutil
import subprocess
import urllib.error
import urllib.request

from conftest import wait_until
from remote_servers import LOOPBACK, Nginx, start_on_free_port, stop

REPO = pathlib.Path(__file__).resolve().parents[2]
OLAH_CLI = REPO / ".cache/olah-venv/bin/olah-cli"
TOKEN = "hf_testtoken0123456789"


def repository_files(directory):
    """{relative path: bytes} of every file below `directory`."""
    directory = pathlib.Path(directory)
    return {str(path.relative_to(directory)): path.read_bytes() for path in sorted(directory.rglob("*")) if path.is_file()}


def file_digests(path):
    """(size, git blob id, SHA-256) of the file at `path`, read in chunks."""
    size = path.stat().st_size
    blob, sha256 = hashlib.sha1(b"blob %d\0" % size), hashlib.sha256()
    with open(path, "rb") as source:
        while chunk := source.read(1 << 20):
            blob.update(chunk)
            sha256.update(chunk)
    return size, blob.hexdigest(), sha256.hexdigest()


def fake_commit(label):
    return hashlib.sha1(label.encode()).hexdigest()


class HubNginx:
    """nginx serving repositories the way the Hub does. `publish(repo_id, commits, main)` lays out
    `commits` ({commit: source directory}, whose files are linked, not copied) with `main`
    pointing at one of them. Repositories published with `private=True` answer 401 RepoNotFound
    without `Authorization: Bearer TOKEN`; those published with `on_cdn=True` answer their
    files' URLs with a 302 to another origin (`localhost` for `127.0.0.1`, the same files), as
    the Hub sends large files to its CDN. `start()` starts the server (`remote_servers.Nginx`,
    whose access log holds every request, with its Host)."""

    def __init__(self, workdir):
        self.workdir = pathlib.Path(workdir)
        self.root = self.workdir / "www"
        self.server = None
        self.commit_rules = []
        self.linked_etags = {}
        self.private = []
        self.on_cdn = []

    @property
    def endpoint(self):
        return f"http://{LOOPBACK}:{self.server.port}"

    def publish(self, repo_id, commits, main, private=False, on_cdn=False, listing_sha256=None):
        """Publishes `repo_id`; `listing_sha256` ({path: hash}) overrides what the listing says
        of a file's content hash (to test the X-Linked-ETag check)."""
        api = self.root / "api/models" / repo_id
        for commit, source in commits.items():
            source = pathlib.Path(source).resolve()
            target = self.root / repo_id / "resolve" / commit
            siblings = []
            for file in sorted(path for path in source.rglob("*") if path.is_file()):
                path = str(file.relative_to(source))
                size, blob_id, digest = file_digests(file)
                (target / path).parent.mkdir(parents=True, exist_ok=True)
                (target / path).symlink_to(file)
                sibling = {"rfilename": path, "size": size, "blobId": blob_id}
                if path.endswith(".safetensors"):
                    self.linked_etags[f"/{repo_id}/resolve/{commit}/{path}"] = digest
                    if commit == main:
                        self.linked_etags[f"/{repo_id}/resolve/main/{path}"] = digest
                    sibling["lfs"] = {"sha256": (listing_sha256 or {}).get(path, digest), "size": size, "pointerSize": 134}
                siblings.append(sibling)
            info = {"id": repo_id, "sha": commit, "siblings": siblings}
            tree = [{"type": "file", "oid": s["blobId"], "size": s["size"], "path": s["rfilename"]} for s in siblings]
            for revision in [commit] + (["main"] if commit == main else []):
                (api / "revision").mkdir(parents=True, exist_ok=True)
                (api / "revision" / f"{revision}.json").write_text(json.dumps(info))
                (api / "tree").mkdir(parents=True, exist_ok=True)
                (api / "tree" / f"{revision}.json").write_text(json.dumps(tree))
        (self.root / repo_id / "resolve" / "main").symlink_to(main)
        self.commit_rules.append(f"~^/{repo_id}/resolve/main/ {main};")
        if private:
            self.private.append(repo_id)
        if on_cdn:
            self.on_cdn.append(repo_id)

    HEADERS = """
            add_header X-Repo-Commit $repo_commit always;
            add_header X-Linked-Etag $linked_etag always;
            add_header X-Error-Code $error_code always;"""

    def start(self):
        linked = "\n".join(f'        "{uri}" "\\"{digest}\\"";' for uri, digest in self.linked_etags.items())
        commits = "\n".join("        " + rule for rule in self.commit_rules)
        http_config = f"""
    default_type application/octet-stream;
    types {{ application/json json; }}
    map_hash_bucket_size 256;
    map $uri $repo_commit {{
{commits}
        "~^/[^/]+/[^/]+/resolve/(?<commit>[0-9a-f]{{40}})/" $commit;
        default "";
    }}
    map $uri $linked_etag {{
{linked}
        default "";
    }}
    map $status $error_code {{
        404 EntryNotFound;
        default "";
    }}"""
        guards = "".join(f"""
        location ~ ^(/api/models)?/{repo_id}/ {{
            if ($http_authorization != "Bearer {TOKEN}") {{
                add_header X-Error-Code RepoNotFound always;
                return 401;
            }}
            rewrite ^/api/models/([^/]+)/([^/]+)/revision/([^/?]+)$ /api/models/$1/$2/revision/$3.json break;{self.HEADERS}
        }}""" for repo_id in self.private)
        redirects = "".join(f"""
        location ~ ^/{repo_id}/resolve/ {{{self.HEADERS}
            return 302 http://localhost:{{port}}/cdn$uri;
        }}""" for repo_id in self.on_cdn)
        locations = guards + redirects + f"""
        location /cdn/ {{
            rewrite ^/cdn(/.*)$ $1 break;{self.HEADERS}
        }}
        location ~ ^/api/models/([^/]+)/([^/]+)/revision/ {{
            if (!-d $document_root/api/models/$1/$2) {{
                add_header X-Error-Code RepoNotFound always;
                return 404;
            }}
            add_header X-Error-Code RevisionNotFound always;
            rewrite ^(.*)$ $1.json break;
        }}
        location ~ ^/api/models/[^/]+/[^/]+/tree/[^/]+/?$ {{
            rewrite ^(.*?)/?$ $1.json break;
        }}
        location / {{{self.HEADERS}
        }}"""
        self.server = Nginx(self.workdir, http_config=http_config, locations=locations)

    def requests(self):
        return self.server.requests()

    def clear_log(self):
        self.server.clear_log()

    def stop(self):
        if self.server:
            self.server.stop()


def git(directory, *arguments):
    subprocess.run(["git", "-C", str(directory), *arguments], check=True, capture_output=True,
                   env=dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@t", GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@t"))


class Olah:
    """olah (PyPI), offline, mirroring `repositories` ({repo_id: source directory}) from local
    git repositories committed on main."""

    def __init__(self, workdir, repositories):
        assert OLAH_CLI.exists(), "scripts/setup.sh installs olah into .cache/olah-venv"
        self.workdir = pathlib.Path(workdir)
        mirrors = self.workdir / "mirrors"
        for repo_id, source in repositories.items():
            target = mirrors / "models" / repo_id
            shutil.copytree(source, target)
            subprocess.run(["git", "init", "-q", "-b", "main", str(target)], check=True)
            git(target, "add", "-A")
            git(target, "commit", "-q", "-m", "model")
        (self.workdir / "repos").mkdir()
        self.output = open(self.workdir / "olah.log", "wb")
        self.port, self.process = start_on_free_port(lambda port: self._start(port, mirrors), "olah")
        probe = f"{self.endpoint}/api/models/{next(iter(repositories))}/revision/main"

        def answers_or_exited():
            if self.process.poll() is not None:
                return True
            try:
                with urllib.request.urlopen(probe, timeout=5) as answer:
                    return answer.status == 200
            except (urllib.error.URLError, OSError):
                return False

        wait_until(answers_or_exited, "olah answers")
        assert self.process.poll() is None, f"olah exited ({self.process.returncode}) before it answered; see {self.workdir / 'olah.log'}"

    def _start(self, port, mirrors):
        config = self.workdir / "olah.toml"
        config.write_text(f"""
[basic]
host = "{LOOPBACK}"
port = {port}
repos-path = "{self.workdir / 'repos'}"
mirrors-path = ["{mirrors}"]
mirror-netloc = "{LOOPBACK}:{port}"
mirror-lfs-netloc = "{LOOPBACK}:{port}"

[accessibility]
offline = true
""")
        return subprocess.Popen([str(OLAH_CLI), "-c", str(config)], cwd=self.workdir, stdout=self.output, stderr=subprocess.STDOUT)

    @property
    def endpoint(self):
        return f"http://{LOOPBACK}:{self.port}"

    def stop(self):
        stop(self.process)
        self.output.close()
