"""TDB2's bulk loader as Fuseki's operators run it: the engine stopped, the file loaded, the engine started again.

    python tests/jena/offline_load.py ENGINE_FOLDER FILE

The `--engine-loader` command for Jena in tests/test_engines.py and
bench/engine_overhead.py. ENGINE_FOLDER is where tests/engines.py `start_jena`
wrote the engine's command line (jena-engine.json) and its process id
(jena.pid); the engine started here writes its own id there, so that the test
stops it in the end. `heritage-hubs` waits for the engine to answer again.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state not in ("Z", "X")  # (a zombie has stopped: its parent, the test, has not read its status yet)


def main() -> None:
    folder, file = Path(sys.argv[1]), sys.argv[2]
    spec = json.loads((folder / "jena-engine.json").read_text())
    pid = int((folder / "jena.pid").read_text())
    if _alive(pid):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 60
    while _alive(pid):
        if time.monotonic() > deadline:
            sys.exit(f"the engine (process {pid}) did not stop within 60 s")
        time.sleep(0.2)
    loaded = subprocess.run([*spec["java"], "tdb2.tdbloader", "--loc", spec["location"], file], capture_output=True,
                            text=True)
    # Started again whatever the loader did, so the engine serves what it holds.
    engine = subprocess.Popen(spec["command"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    (folder / "jena.pid").write_text(str(engine.pid))
    if loaded.returncode != 0:
        sys.exit(f"tdb2.tdbloader exited with {loaded.returncode}: {loaded.stderr[-1500:]}")


if __name__ == "__main__":
    main()
