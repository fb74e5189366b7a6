#!/usr/bin/env bash
# Installs a released `omni-dbt` binary: the GitHub Action (action.yml) runs this, and so can
# anyone (`curl -sSf …/install.sh | bash`).
#
#   OMNI_DBT_VERSION   a release tag (v0.1.0), or `latest` (default)
#   OMNI_DBT_REPO      owner/name of the releases (default: omni-dbt/omni-dbt)
#   OMNI_DBT_BASE      where the release files are instead: a URL or a local directory
#                      holding omni-dbt-<target>.tar.gz (.zip on Windows) and SHA256SUMS
#   OMNI_DBT_DIR       where to put the binary (default: $RUNNER_TOOL_CACHE/omni-dbt/<version>,
#                      else ~/.local/bin)
#
# The archive's SHA-256 must match the release's SHA256SUMS, or nothing is installed. On
# GitHub Actions the directory is added to GITHUB_PATH.
set -euo pipefail

version="${OMNI_DBT_VERSION:-latest}"
repo="${OMNI_DBT_REPO:-omni-dbt/omni-dbt}"

fail() { echo "omni-dbt install: $*" >&2; exit 1; }

# The version and the repository become a URL and a directory: only a semantic-version tag (or
# `latest`) and GitHub's own owner/name shapes, so that neither can walk (`..`), add a line to
# GITHUB_PATH, or point at another repository's release. Values are never printed raw.
semver='^v(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$'
if [ "$version" != latest ] && ! [[ "$version" =~ $semver ]]; then
  fail "OMNI_DBT_VERSION must be a release tag like v0.1.0 (v1.2.3 or v1.2.3-rc.1), or latest"
fi
owner="${repo%%/*}"
name="${repo#*/}"
if ! [[ "$repo" == */* && "$owner" =~ ^[A-Za-z0-9]([A-Za-z0-9-]{0,38})$ && "$name" =~ ^[A-Za-z0-9_.-]{1,100}$ ]] \
  || [ "$name" = . ] || [ "$name" = .. ]; then
  fail "OMNI_DBT_REPO must be a GitHub owner/name (letters, digits, '-', and '_' or '.' in the name)"
fi

os="$(uname -s)"
arch="$(uname -m)"
case "$arch" in
  x86_64 | amd64) arch=x86_64 ;;
  aarch64 | arm64) arch=aarch64 ;;
  *) fail "no release for the architecture $arch" ;;
esac
ext=tar.gz
case "$os" in
  Linux)
    # musl where the C library is not glibc (Alpine), glibc otherwise.
    if ldd --version 2>&1 | grep -qi musl || [ -f /etc/alpine-release ]; then
      target="$arch-unknown-linux-musl"
    else
      target="$arch-unknown-linux-gnu"
    fi ;;
  Darwin) target="$arch-apple-darwin" ;;
  MINGW* | MSYS* | CYGWIN* | Windows_NT) target="$arch-pc-windows-msvc"; ext=zip ;;
  *) fail "no release for the operating system $os" ;;
esac
asset="omni-dbt-$target.$ext"

if [ -n "${OMNI_DBT_BASE:-}" ]; then
  base="$OMNI_DBT_BASE"
elif [ "$version" = latest ]; then
  base="https://github.com/$repo/releases/latest/download"
else
  base="https://github.com/$repo/releases/download/$version"
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
fetch() {
  if [ -d "$base" ]; then
    cp "$base/$1" "$work/$1" || fail "no $1 in $base"
  else
    curl --proto '=https,file' --tlsv1.2 -fsSL --retry 3 --max-time 120 -o "$work/$1" "$base/$1" \
      || fail "cannot download $base/$1"
  fi
}
fetch "$asset"
fetch SHA256SUMS

expected="$(awk -v f="$asset" '$2 == f || $2 == "*" f { print $1 }' "$work/SHA256SUMS")"
[ -n "$expected" ] || fail "SHA256SUMS has no line for $asset"
if command -v sha256sum >/dev/null 2>&1; then
  actual="$(sha256sum "$work/$asset" | awk '{print $1}')"
else
  actual="$(shasum -a 256 "$work/$asset" | awk '{print $1}')"
fi
[ "$expected" = "$actual" ] || fail "$asset: SHA-256 $actual does not match SHA256SUMS ($expected); nothing installed"

dir="${OMNI_DBT_DIR:-}"
if [ -z "$dir" ]; then
  if [ -n "${RUNNER_TOOL_CACHE:-}" ]; then
    dir="$RUNNER_TOOL_CACHE/omni-dbt/$version/$target"
  else
    dir="$HOME/.local/bin"
  fi
fi
mkdir -p "$dir"
if [ "$ext" = zip ]; then
  unzip -o -q "$work/$asset" -d "$work/unpacked"
  cp "$work/unpacked/omni-dbt.exe" "$dir/"
  binary="$dir/omni-dbt.exe"
else
  tar -xzf "$work/$asset" -C "$work"
  install -m 0755 "$work/omni-dbt" "$dir/omni-dbt"
  binary="$dir/omni-dbt"
fi
"$binary" --version >/dev/null || fail "the installed binary does not run"
if [ -n "${GITHUB_PATH:-}" ]; then
  case "$dir" in
    *$'\n'* | *$'\r'*) fail "the install directory has a line break; not added to GITHUB_PATH" ;;
  esac
  echo "$dir" >> "$GITHUB_PATH"
fi
if [ -n "${GITHUB_OUTPUT:-}" ]; then
  echo "path=$binary" >> "$GITHUB_OUTPUT"
fi
echo "installed $("$binary" --version) ($target) at $binary"
