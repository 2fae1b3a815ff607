"""A web server whose SQLite database lives on a tiny tmpfs of its own, for the disk-full test.

Run as root inside a private mount namespace (``unshare -m --propagation private``): mounts a
tmpfs of SIZE at FOLDER (seen by nothing else on the machine), migrates a database there,
seeds a course, prints one JSON line (tokens and ids), then serves the app on PORT until
killed. The test fills the tmpfs through ``/proc/<pid>/root``.

Usage: python tests/faults/tmpfs_server.py FOLDER SIZE PORT
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def main() -> None:
    folder, size, port = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
                   check=True)
    from werkzeug.serving import make_server

    from grader import create_app
    from grader.extensions import make_engine
    from grader.migrate import upgrade
    from tests.conftest import seed_world

    url = f"sqlite:///{folder / 'autograde.sqlite3'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    config = {"DATABASE_URL": url, "SECRET_KEY": "disk-full", "ENQUEUE": False,
              "TESTING": True, "SUBMISSIONS_PER_MINUTE": 0, "WTF_CSRF_ENABLED": False,
              "REDIS_URL": "redis://127.0.0.1:1/0"}
    app = create_app(config)
    world = seed_world(app)
    server = make_server("127.0.0.1", port, app, threaded=True)
    print(json.dumps({"assignment_id": world.assignment_id, "token": world.instructor_token,
                      "student_token": world.student_token}), flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
