"""The pages' JavaScript is real JavaScript: `node --check` parses each file of
Sources/HubServer/Web/Files as the hub serves it (the client as a classic script and as an ES
module, the way `/client/spacehub.js` and `.mjs` are put together). A syntax error fails here,
not in a member's browser."""
import os
import shutil
import subprocess
import tempfile

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FILES = os.path.join(ROOT, "Sources", "HubServer", "Web", "Files")


def read(name):
    with open(os.path.join(FILES, name), encoding="utf-8") as handle:
        return handle.read()


SERVED = {
    "spacehub.js": read("client-core.js") + read("client-classic-export.js"),
    "spacehub.mjs": read("client-core.js") + read("client-module-export.js"),
    "dashboard.js": read("dashboard.js"),
    "kiosk.js": read("kiosk.js"),
}


@pytest.mark.parametrize("name", sorted(SERVED))
def test_every_script_parses(name, tmp_path):
    node = shutil.which("node") or shutil.which("nodejs")
    assert node, "node is installed by scripts/setup.sh (Debian's nodejs)"
    path = tmp_path / name
    path.write_text(SERVED[name], encoding="utf-8")
    checked = subprocess.run([node, "--check", str(path)], capture_output=True, text=True, timeout=60)
    assert checked.returncode == 0, checked.stderr


def test_a_syntax_error_is_caught(tmp_path):
    """The check can fail: a script with a stray brace does not parse."""
    node = shutil.which("node") or shutil.which("nodejs")
    path = tmp_path / "broken.js"
    path.write_text(read("kiosk.js") + "\n}\n", encoding="utf-8")
    assert subprocess.run([node, "--check", str(path)], capture_output=True, timeout=60).returncode != 0
