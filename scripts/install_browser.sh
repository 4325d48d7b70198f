#!/usr/bin/env bash
# Headless chromium + its driver for the browser test of `nerkit serve`
# (tests/serve/test_browser.py), from Debian's packages; `make test` runs this.
# Without root or apt-get it installs nothing and the test is skipped, saying why.
set -u
command -v chromium >/dev/null && command -v chromedriver >/dev/null && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    echo "install_browser: not root or no apt-get; the browser test will be skipped (apt-get install chromium chromium-driver)" >&2
    exit 0
fi
packages="chromium chromium-driver"
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -q --no-install-recommends $packages >/dev/null 2>&1 ||
    { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends $packages >/dev/null; } ||
    echo "install_browser: apt-get install $packages failed; the browser test will be skipped" >&2
exit 0
