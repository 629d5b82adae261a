"""Linux desktop entry and AppStream metadata: structure always, and the real validators
(desktop-file-validate, appstreamcli) whenever the machine has them."""
import configparser
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

APP_ID = "org.layerlab.LayerLab"
LINUX = Path(__file__).resolve().parents[2] / "packaging" / "linux"


def test_desktop_entry_fields():
    cp = configparser.ConfigParser(interpolation=None, strict=True)
    cp.optionxform = str
    cp.read(LINUX / f"{APP_ID}.desktop", encoding="utf-8")
    e = cp["Desktop Entry"]
    assert e["Type"] == "Application" and e["Name"] == "LayerLab"
    assert e["Exec"].split()[:2] == ["layerlab", "gui"] and e["Icon"] == APP_ID
    assert e["Categories"].endswith(";") and (LINUX / f"{APP_ID}.svg").is_file()


def test_appstream_metadata_fields():
    root = ET.parse(LINUX / f"{APP_ID}.metainfo.xml").getroot()
    assert root.tag == "component" and root.get("type") == "desktop-application"
    assert root.findtext("id") == APP_ID
    assert root.find("launchable").text == f"{APP_ID}.desktop"
    assert root.findtext("metadata_license") and root.findtext("project_license")
    assert len(root.find("description").findall("p")) >= 1 and root.find("releases/release") is not None


def test_real_validators_accept_the_files_when_installed():
    ran = 0
    if shutil.which("desktop-file-validate"):
        r = subprocess.run(["desktop-file-validate", str(LINUX / f"{APP_ID}.desktop")], capture_output=True, text=True)
        assert r.returncode == 0 and "error" not in r.stdout.lower(), r.stdout
        ran += 1
    if shutil.which("appstreamcli"):
        r = subprocess.run(["appstreamcli", "validate", "--no-net", str(LINUX / f"{APP_ID}.metainfo.xml")],
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stdout + r.stderr
        ran += 1
    print(f"validators run: {ran}")
