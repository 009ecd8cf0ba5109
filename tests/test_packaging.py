"""A wheel built from the sources (no ./run) installs a package that serves the editor and the maps."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
VENDOR = ("heritage_hubs/server/static/vendor/yasgui/yasgui.min.js", "heritage_hubs/server/static/vendor/yasgui/yasgui.min.css",
          "heritage_hubs/server/static/vendor/leaflet/leaflet.js", "heritage_hubs/server/static/vendor/leaflet/leaflet.css")


@pytest.mark.slow
@pytest.mark.skipif(not (ROOT / "node_modules").exists() and not os.environ.get("CI"), reason="npm ci (run by ./run) provides the assets")
def test_a_wheel_from_the_sources_serves_the_editor_and_the_maps(tmp_path: Path) -> None:
    source = tmp_path / "source"
    # The sources as a fresh clone has them: no copied assets, no environments.
    shutil.copytree(ROOT, source, symlinks=True, ignore=shutil.ignore_patterns(
        ".git", ".venv", "node_modules", "vendor", "__pycache__", "*.egg-info", "build", "dist", ".mypy_cache", ".ruff_cache",
        ".pytest_cache", "out"))
    (source / "node_modules").symlink_to(ROOT / "node_modules")
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path / "wheels"), str(source)],
                           capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stderr[-2000:]
    wheel = next((tmp_path / "wheels").glob("heritage_hubs-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    assert set(VENDOR) <= names, sorted(n for n in names if "static" in n)
    target = tmp_path / "installed"
    installed = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
                               capture_output=True, text=True, timeout=600)
    assert installed.returncode == 0, installed.stderr[-2000:]
    check = f"""
import heritage_hubs, pathlib
assert pathlib.Path(heritage_hubs.__file__).is_relative_to({str(target)!r}), heritage_hubs.__file__
from heritage_hubs.config import Settings
from heritage_hubs.server import create_app, close_resources
client = create_app(Settings(store_path=pathlib.Path({str(tmp_path / 'store')!r}), query_processes=1)).test_client()
for path in ("/static/vendor/yasgui/yasgui.min.js", "/static/vendor/leaflet/leaflet.js", "/static/vendor/leaflet/leaflet.css"):
    response = client.get(path)
    assert response.status_code == 200 and len(response.get_data()) > 1000, path
    response.close()
editor = client.get("/sparql", headers={{"Accept": "text/html"}})
assert editor.status_code == 200 and b"yasgui.min.js" in editor.data
close_resources()
print("served")
"""
    served = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, timeout=300,
                            env={**os.environ, "PYTHONPATH": str(target)}, cwd=tmp_path)
    assert served.returncode == 0 and "served" in served.stdout, served.stderr[-3000:]
