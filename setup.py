"""Build hook: a wheel carries the query editor's and the maps' assets.

YASGUI, Leaflet and the maps' base layer (Natural Earth's countries) come from npm (package-lock.json) and are served from
`server/static/vendor/` (no CDN). `./run` copies them there for a checkout;
a wheel built from a fresh clone would miss them, so building one copies them
from `node_modules/` (run `npm ci` first) into the wheel. Editable installs
are left alone: `./run` installs the package before npm has run.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
#: Where each asset goes under server/static/vendor/, and where npm put it.
ASSETS = {
    "yasgui/yasgui.min.js": "@triply/yasgui/build/yasgui.min.js",
    "yasgui/yasgui.min.css": "@triply/yasgui/build/yasgui.min.css",
    "leaflet": "leaflet/dist",
    "world-atlas/countries-110m.json": "world-atlas/countries-110m.json",
    "topojson-client/topojson-client.min.js": "topojson-client/dist/topojson-client.min.js",
}


class BuildWithAssets(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        target = Path(self.build_lib) / "heritage_hubs" / "server" / "static" / "vendor"
        for destination, source_name in ASSETS.items():
            out = target / destination
            if out.exists():
                continue  # already there as package data (a tree where ./run copied them)
            source = ROOT / "node_modules" / source_name
            if not source.exists():
                raise SystemExit(f"heritage-hubs: {source} is missing; the editor and map assets come from npm: "
                                 "run `npm ci` (or ./run) before building a wheel")
            if source.is_dir():
                shutil.copytree(source, out, dirs_exist_ok=True)
            else:
                out.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, out)


setup(cmdclass={"build_py": BuildWithAssets})
