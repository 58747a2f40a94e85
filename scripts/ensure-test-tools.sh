#!/usr/bin/env bash
# Makes sure the Debian packages the tests drive are installed, with apt-get when one is missing:
#   chromium  at /usr/bin/chromium, for the browser tests (test/e2e); never a downloaded browser
#   awscli    at /usr/bin/aws, for the test that points the AWS CLI at the local cloud
set -euo pipefail

declare -A NEEDED=([chromium]=/usr/bin/chromium [awscli]=/usr/bin/aws)
missing=()
for package in "${!NEEDED[@]}"; do
  [ -x "${NEEDED[$package]}" ] || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  cat >&2 <<MSG
ensure-test-tools: missing ${missing[*]}, and this user cannot install packages.
The browser tests drive Debian's chromium and one test drives the AWS CLI. Install them once as root:

  sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}

MSG
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-test-tools: missing ${missing[*]} and apt-get is not available; install Debian's packages ${missing[*]}" >&2
  exit 1
fi

echo "ensure-test-tools: installing ${missing[*]} with apt-get" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

for package in "${missing[@]}"; do
  if [ ! -x "${NEEDED[$package]}" ]; then
    echo "ensure-test-tools: apt-get finished but ${NEEDED[$package]} is still missing" >&2
    exit 1
  fi
done
echo "ensure-test-tools: installed ${missing[*]}" >&2
