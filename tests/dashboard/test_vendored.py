"""The chart library is vendored: its bytes are the ones recorded, its licence and notice ship beside it, and the
pinned package.json / package-lock.json that `make vendor-charts` installs from name the same release."""

import hashlib
import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VENDOR = ROOT / "dashboard" / "static" / "dashboard" / "vendor"
SOURCE = ROOT / "dashboard" / "vendor"
BUNDLE = "lightweight-charts.standalone.production.js"
VERSION = "5.2.1"
RECORDED = {
    BUNDLE: "e21cc5caa0226ef30bd8549c50b9ef926615f2a4ee6b4e486353477a55f598cf",
    "LICENSE": "70c9d5382506dd184465425c08a99ad9bd6d9ac1313c252968ba0b585e5ef823",
    "NOTICE": "1f77c00550ad60813f63bd9cbb97bb8300a1c708d7da55f3ee49773f2bb37b43",
}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_vendored_files_have_the_recorded_sha256():
    assert {name: sha256(VENDOR / name) for name in RECORDED} == RECORDED
    listed = dict(reversed(line.split()) for line in (VENDOR / "SHA256SUMS").read_text().splitlines())
    assert listed == RECORDED  # the file `make vendor-charts` checks with sha256sum -c


def test_the_bundle_is_the_pinned_release_and_names_its_licence():
    header = (VENDOR / BUNDLE).read_text()[:300]
    assert f"TradingView Lightweight Charts™ v{VERSION}" in header
    assert "Licensed under Apache License 2.0" in header
    assert "Apache License" in (VENDOR / "LICENSE").read_text()[:200]
    assert (VENDOR / "NOTICE").read_text() == (SOURCE / "NOTICE").read_text()
    assert "TradingView, Inc. https://www.tradingview.com/" in (VENDOR / "NOTICE").read_text()


def test_package_json_pins_exactly_and_the_lock_agrees():
    package = json.loads((SOURCE / "package.json").read_text())
    assert package["dependencies"] == {"lightweight-charts": VERSION}
    assert all(re.fullmatch(r"\d+\.\d+\.\d+", v) for v in package["dependencies"].values())
    lock = json.loads((SOURCE / "package-lock.json").read_text())
    assert lock["packages"]["node_modules/lightweight-charts"]["version"] == VERSION
    assert lock["packages"]["node_modules/lightweight-charts"]["integrity"].startswith("sha512-")


def test_the_page_loads_nothing_but_its_own_static_files():
    page = (ROOT / "dashboard" / "templates" / "dashboard" / "page.html").read_text()
    base = (ROOT / "dashboard" / "templates" / "dashboard" / "base.html").read_text()
    sources = re.findall(r'(?:src|href)="([^"]+)"', page + base)
    loaded = [s for s in sources if not s.startswith("https://www.tradingview.com/")]  # the attribution link
    assert loaded and all(s.startswith("{% static ") or s.startswith("{% url ") or s == "data:," for s in loaded)
