"""moto's S3 server with an access log like the one the tests' nginx writes: a JSON line per
response, with the bytes of its body. Usage: moto_logged.py HOST PORT LOG"""
import json
import os
import sys
import threading

from moto.server import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import run_simple


def logged(application, path):
    """`application` (WSGI), appending one line to `path` once each response has been sent."""
    lock = threading.Lock()

    def serve(environ, start_response):
        status = []

        def start(line, headers, exc_info=None):
            status.append(int(line.split()[0]))
            return start_response(line, headers, exc_info)

        body = application(environ, start)
        sent = 0
        try:
            for chunk in body:
                sent += len(chunk)
                yield chunk
        finally:
            if hasattr(body, "close"):
                body.close()
            entry = {"method": environ["REQUEST_METHOD"], "uri": environ.get("PATH_INFO", ""),
                     "status": status[0] if status else 0, "bytes": sent, "range": environ.get("HTTP_RANGE", "")}
            with lock, open(path, "a") as log:
                log.write(json.dumps(entry) + "\n")

    return serve


if __name__ == "__main__":
    host, port, log = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    os.environ.setdefault("MOTO_PORT", str(port))
    run_simple(host, port, logged(DomainDispatcherApplication(create_backend_app), log), threaded=True)
