#!/usr/bin/env bash
# Install the Debian/Ubuntu packages the book needs beyond Python.
#   install-system-deps.sh book   XeLaTeX and fonts for the PDF (the set Jupyter Book's own PDF
#                                 workflow uses, plus texlive-science for bbm.sty): `make book`
#   install-system-deps.sh test   poppler-utils to read the PDF and Chromium to drive the browser
#                                 tests: `make test` adds these
# Installs only what is missing; works as root, through `sudo -n` where that exists, and
# otherwise stops with the list.
set -euo pipefail

case "${1:-book}" in
  book)
    packages=(
      texlive-latex-recommended texlive-latex-extra texlive-fonts-extra
      texlive-xetex texlive-science fonts-freefont-otf latexmk xindy
    )
    ;;
  test)
    packages=(poppler-utils chromium)
    ;;
  *)
    echo "usage: $0 [book|test]" >&2
    exit 2
    ;;
esac
# Debian's own Python needs python3-venv for `python3 -m venv`.
if ! python3 -c "import ensurepip" >/dev/null 2>&1; then
  packages+=(python3-venv)
fi

missing=()
for pkg in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "system packages: all present"
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "error: these Debian packages are needed but apt-get is not available: ${missing[*]}" >&2
  exit 1
fi

if [ "$(id -u)" -eq 0 ]; then
  run=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  run=(sudo -n)
else
  echo "error: these Debian packages are needed; install them as root, then re-run:" >&2
  echo "  apt-get install --no-install-recommends ${missing[*]}" >&2
  exit 1
fi

echo "system packages: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${run[@]}" apt-get update -q
"${run[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
