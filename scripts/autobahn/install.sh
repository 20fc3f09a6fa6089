#!/usr/bin/env bash
# Installs the Autobahn|Testsuite runtime into .cache/autobahn/runtime/ (AUTOBAHN_HOME overrides
# .cache/autobahn). Called by run.py before every run; quick and silent when the runtime is there.
#
# The suite runs only on Python 2.7, which Debian 12 does not ship. So:
#   1. CPython 2.7 and the two libraries bookworm dropped (libssl1.1, libffi7) come from Debian 11
#      (bullseye) packages: `apt-get download` through a private apt configuration, then
#      `dpkg-deb -x` into runtime/root/. Nothing is installed on the system.
#   2. pip for Python 2.7 is fetched with this machine's Python 3 pip (.venv/ from scripts/setup.sh,
#      else python3), then installs requirements-py27.txt (every version pinned) from PyPI.
#   3. wsaccel, the suite's optional C accelerator (UTF-8 validation and masking), is built with
#      gcc; if that fails the suite runs without it (301 cases: about 40 s instead of 14 s).
#
# runtime/STAMP holds a hash of this script and the pin file; when it differs, the runtime is
# rebuilt from scratch. .cache/autobahn/.lock keeps two runs from installing at once.
# Needs apt-get, dpkg-deb (always on Debian), gcc (scripts/setup.sh), Debian's mirror and PyPI.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
home=${AUTOBAHN_HOME:-$here/../../.cache/autobahn}
mkdir -p "$home"
home=$(cd "$home" && pwd)
rt=$home/runtime
mirror=${AUTOBAHN_DEBIAN_MIRROR:-http://deb.debian.org/debian}
security_mirror=${AUTOBAHN_DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}

debian_packages=(python2.7 python2.7-minimal libpython2.7 libpython2.7-minimal libpython2.7-stdlib
                 python2.7-dev libpython2.7-dev libssl1.1 libffi7)
pip_bootstrap=(pip==20.3.4 setuptools==44.0.0 wheel==0.37.1)
accelerator=wsaccel==0.6.6

stamp=$(cat "$here/install.sh" "$here/requirements-py27.txt" | sha256sum | cut -d' ' -f1)

exec 9>"$home/.lock"
flock 9
if [ -x "$rt/python" ] && [ "$(cat "$rt/STAMP" 2>/dev/null)" = "$stamp" ]; then
    exit 0
fi

echo "autobahn: installing Autobahn|Testsuite (Python 2.7 runtime) into $rt" >&2
rm -rf "$rt"
mkdir -p "$rt/root" "$rt/debs" "$rt/wheels" "$rt/apt/lists/partial" "$rt/apt/cache/archives/partial" \
    "$rt/apt/empty"
log=$rt/install.log
exec 3>&2 >"$log" 2>&1
trap 'echo "autobahn: installation failed; last lines of $log:" >&3; tail -n 20 "$log" >&3' ERR

# 1. Python 2.7 from bullseye. Only apt's sources, preferences, state and cache are redirected;
#    the machine's own apt.conf (proxies) still applies.
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
signed=""
[ -e "$keyring" ] && signed="[signed-by=$keyring] "
cat > "$rt/apt/sources.list" <<EOF
deb ${signed}$mirror bullseye main
deb ${signed}$security_mirror bullseye-security main
EOF
: > "$rt/apt/status"
apt=(apt-get -q
     -o "Dir::Etc::SourceList=$rt/apt/sources.list" -o "Dir::Etc::SourceParts=$rt/apt/empty"
     -o "Dir::Etc::Preferences=$rt/apt/empty/none" -o "Dir::Etc::PreferencesParts=$rt/apt/empty"
     -o "Dir::State::Lists=$rt/apt/lists" -o "Dir::State::status=$rt/apt/status"
     -o "Dir::Cache=$rt/apt/cache" -o "APT::Architectures=$(dpkg --print-architecture)"
     -o "Acquire::Languages=none")
# As root, apt would hand the downloads to the _apt user, who may not reach this folder.
[ "$(id -u)" -ne 0 ] || apt+=(-o "APT::Sandbox::User=root")
"${apt[@]}" update
(cd "$rt/debs" && "${apt[@]}" download "${debian_packages[@]}")
for deb in "$rt"/debs/*.deb; do
    dpkg-deb -x "$deb" "$rt/root"
    dpkg-deb -f "$deb" Package Version | paste -sd' ' >> "$rt/debian-packages.txt"
done
rm -rf "$rt/apt" "$rt/debs"

# A wrapper that finds the unpacked libraries and ignores the caller's Python settings.
libdir=$(cd "$rt/root" && ls -d usr/lib/*-linux-gnu | head -n 1)
cat > "$rt/python" <<EOF
#!/bin/sh
# Python 2.7 of the Autobahn runtime (written by scripts/autobahn/install.sh).
root=\$(cd "\$(dirname "\$0")" && pwd)/root
LD_LIBRARY_PATH="\$root/$libdir\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}" \\
    exec env -u PYTHONPATH -u PYTHONHOME -u PYTHONSTARTUP PYTHONNOUSERSITE=1 \\
    "\$root/usr/bin/python2.7" "\$@"
EOF
chmod +x "$rt/python"
"$rt/python" -c 'import ssl, zlib, ctypes, hashlib'

# 2. pip for Python 2.7, then the pinned suite. pip keeps no cache: nothing is written outside $rt.
python3=python3
[ -x "$here/../../.venv/bin/python" ] && python3=$here/../../.venv/bin/python
"$python3" -m pip download --no-cache-dir --disable-pip-version-check --no-deps \
    --only-binary=:all: --python-version 2.7 -d "$rt/wheels" "${pip_bootstrap[@]}"
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PIP_NO_PYTHON_VERSION_WARNING=1
pip_wheel=$(ls "$rt"/wheels/pip-*.whl)
"$rt/python" "$pip_wheel/pip" install --no-warn-script-location --no-index --find-links "$rt/wheels" \
    "${pip_bootstrap[@]}"
rm -rf "$rt/wheels"
pip_install=("$rt/python" -m pip install --no-warn-script-location --no-deps)
"${pip_install[@]}" -r "$here/requirements-py27.txt"

# 3. The optional accelerator, a C extension. Debian's python2.7/pyconfig.h includes
#    <ARCH-linux-gnu/python2.7/pyconfig.h>, hence both include folders.
export CFLAGS="-I$rt/root/usr/include/python2.7 -I$rt/root/usr/include"
if "${pip_install[@]}" "$accelerator"; then
    accelerated=yes
else
    accelerated=no
    echo "autobahn: $accelerator did not build (see $log); the suite runs without it" >&3
fi

"$rt/python" -c 'import autobahntestsuite.wstest'
echo "$accelerated" > "$rt/ACCELERATED"
echo "$stamp" > "$rt/STAMP"
echo "autobahn: runtime installed in ${SECONDS}s ($(du -sh "$rt" | cut -f1))" >&3
