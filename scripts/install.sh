#!/bin/sh
# Install a release binary of reconcile, verified against the release's SHA256SUMS.
#
#   curl -fsSL https://github.com/OWNER/reconcile/releases/download/v0.2.0/install.sh \
#     | sh -s -- --version v0.2.0 --to "$HOME/.local/bin"
#
# It picks the archive for this machine (reconcile-vX.Y.Z-TARGET.tar.gz, .zip on Windows),
# downloads it and SHA256SUMS, checks the archive's SHA-256 against its line in SHA256SUMS, and only
# then unpacks it and puts `reconcile` into the directory given with --to. A mismatch, a missing
# line or a failed download stops it with an error, and nothing is installed.
#
# Where releases are downloaded from: $RECONCILE_DOWNLOAD_BASE/vX.Y.Z/FILE, by default
# https://github.com/$REPO/releases/download. REPO below is the one place to name the project's
# GitHub home; while it is the placeholder OWNER/reconcile, set RECONCILE_DOWNLOAD_BASE (the tests
# point it at a loopback server; the GitHub Action at the repository it was used from).
#
# POSIX sh; needs curl or wget, tar (unzip or tar for the Windows zip), and sha256sum or shasum.
set -eu

REPO="OWNER/reconcile"
PLACEHOLDER_REPO="OWNER/reconcile"

usage() {
  cat <<'EOF'
Install a release binary of reconcile, verified against the release's SHA256SUMS.

Usage: install.sh --version vX.Y.Z [--to DIR] [--target TRIPLE]

Options:
  --version vX.Y.Z  the release to install (required: pin the version you reviewed)
  --to DIR          where to put the `reconcile` binary [default: $HOME/.local/bin]
  --target TRIPLE   the archive to install, instead of the one for this machine:
                    x86_64-unknown-linux-musl, aarch64-unknown-linux-musl, x86_64-apple-darwin,
                    aarch64-apple-darwin, x86_64-pc-windows-msvc
  -h, --help        print this help

Environment:
  RECONCILE_DOWNLOAD_BASE  download from $RECONCILE_DOWNLOAD_BASE/vX.Y.Z/ instead of the
                           project's GitHub releases (https, or http to a loopback address)
  RECONCILE_DOWNLOADER     curl or wget [default: curl when installed, else wget]
EOF
}

say() {
  printf 'install.sh: %s\n' "$*" >&2
}

die() {
  printf 'install.sh: error: %s\n' "$*" >&2
  exit 1
}

version=""
to="${HOME:-}/.local/bin"
target=""
while [ "$#" -gt 0 ]; do
  case "$1" in
    --version)
      [ "$#" -ge 2 ] || die "--version needs a value, such as --version v0.2.0"
      version="$2"
      shift 2
      ;;
    --version=*)
      version="${1#*=}"
      shift
      ;;
    --to)
      [ "$#" -ge 2 ] || die "--to needs a directory, such as --to \"\$HOME/.local/bin\""
      to="$2"
      shift 2
      ;;
    --to=*)
      to="${1#*=}"
      shift
      ;;
    --target)
      [ "$#" -ge 2 ] || die "--target needs a target triple, such as --target x86_64-unknown-linux-musl"
      target="$2"
      shift 2
      ;;
    --target=*)
      target="${1#*=}"
      shift
      ;;
    -h | --help)
      usage
      exit 0
      ;;
    *)
      die "unknown argument '$1' (see install.sh --help)"
      ;;
  esac
done

# The version and the target become parts of a URL and of file names: only plain characters.
[ -n "$version" ] || die "say which release to install: --version v0.2.0 (the list is at https://github.com/$REPO/releases)"
case "$version" in
  v*) ;;
  *) version="v$version" ;;
esac
case "$version" in
  v[0-9]*.[0-9]*.[0-9]*) ;;
  *) die "'$version' is not a release version: give one like v0.2.0" ;;
esac
case "$version" in
  *[!A-Za-z0-9.+-]*) die "'$version' is not a release version: give one like v0.2.0" ;;
esac
[ -n "$to" ] || die "say where to install: --to DIR (HOME is not set, so there is no default)"

# The archive for this machine: the release workflow builds exactly these five.
detect_target() {
  os=$(uname -s)
  arch=$(uname -m)
  case "$arch" in
    x86_64 | amd64) arch=x86_64 ;;
    aarch64 | arm64) arch=aarch64 ;;
    *) die "no release binary for the processor '$arch': build from source (cargo install --locked cf-access-reconcile)" ;;
  esac
  case "$os" in
    Linux) echo "$arch-unknown-linux-musl" ;;
    Darwin)
      # A shell under Rosetta reports x86_64 on Apple silicon: install the native binary.
      if [ "$arch" = x86_64 ] && [ "$(sysctl -n sysctl.proc_translated 2>/dev/null || echo 0)" = 1 ]; then
        arch=aarch64
      fi
      echo "$arch-apple-darwin"
      ;;
    MINGW* | MSYS* | CYGWIN* | Windows_NT)
      [ "$arch" = x86_64 ] || die "no release binary for Windows on '$arch': build from source (cargo install --locked cf-access-reconcile)"
      echo "x86_64-pc-windows-msvc"
      ;;
    *) die "no release binary for the system '$os': build from source (cargo install --locked cf-access-reconcile)" ;;
  esac
}

if [ -z "$target" ]; then
  target=$(detect_target)
fi
case "$target" in
  '' | *[!A-Za-z0-9_-]*) die "'$target' is not a target triple: give one like x86_64-unknown-linux-musl" ;;
esac
case "$target" in
  *-windows-*)
    archive="reconcile-$version-$target.zip"
    exe="reconcile.exe"
    ;;
  *)
    archive="reconcile-$version-$target.tar.gz"
    exe="reconcile"
    ;;
esac

# Where to download from. Plain http only to a loopback address (as reconcile itself allows for
# its API), so a checksum and a binary never travel where anyone on the path could swap both.
if [ -n "${RECONCILE_DOWNLOAD_BASE:-}" ]; then
  base="${RECONCILE_DOWNLOAD_BASE%/}"
elif [ "$REPO" = "$PLACEHOLDER_REPO" ]; then
  die "this copy of install.sh does not name the project's GitHub home (REPO=$REPO is a placeholder): set RECONCILE_DOWNLOAD_BASE to the releases' download URL, such as https://github.com/NAME/reconcile/releases/download"
else
  base="https://github.com/$REPO/releases/download"
fi
# Plain http only to a loopback host: the host is what lies between http:// and the first / or
# port, so that http://127.0.0.1.example.com/ is not taken for loopback.
host="${base#http://}"
host="${host%%/*}"
case "$host" in
  \[::1\] | \[::1\]:*) host="[::1]" ;;
  *) host="${host%%:*}" ;;
esac
case "$base" in
  https://*) proto="=https" ;;
  http://*)
    case "$host" in
      localhost | "[::1]") proto="=http" ;;
      127.*[!0-9.]* | 127.) proto="" ;;
      127.*) proto="=http" ;;
      *) proto="" ;;
    esac
    ;;
  *) proto="" ;;
esac
[ -n "$proto" ] || die "RECONCILE_DOWNLOAD_BASE must be an https:// URL (plain http:// only to 127.0.0.1, localhost or [::1]): '$base'"

downloader="${RECONCILE_DOWNLOADER:-}"
if [ -z "$downloader" ]; then
  if command -v curl >/dev/null 2>&1; then
    downloader=curl
  elif command -v wget >/dev/null 2>&1; then
    downloader=wget
  else
    die "neither curl nor wget is installed: install one of them and run this again"
  fi
fi
case "$downloader" in
  curl | wget) command -v "$downloader" >/dev/null 2>&1 || die "RECONCILE_DOWNLOADER=$downloader, but $downloader is not installed" ;;
  *) die "RECONCILE_DOWNLOADER must be curl or wget, not '$downloader'" ;;
esac

# download URL FILE: fails (without a partial file counting) on any HTTP error.
download() {
  if [ "$downloader" = curl ]; then
    curl --fail --silent --show-error --location --proto "$proto" --proto-redir "$proto" \
      --retry 3 --output "$2" "$1"
  elif [ "$proto" = "=https" ]; then
    wget --quiet --https-only --tries=3 --output-document="$2" "$1"
  else
    wget --quiet --tries=3 --output-document="$2" "$1"
  fi
}

sha256() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$1" | awk '{ print $1 }'
  elif command -v shasum >/dev/null 2>&1; then
    shasum -a 256 "$1" | awk '{ print $1 }'
  else
    die "cannot verify the download: neither sha256sum nor shasum is installed (install coreutils or perl)"
  fi
}

tmp=$(mktemp -d 2>/dev/null || mktemp -d -t reconcile-install)
[ -d "$tmp" ] || die "could not make a temporary directory"
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

url="$base/$version"
say "downloading $archive and SHA256SUMS from $url/"
download "$url/$archive" "$tmp/$archive" ||
  die "could not download $url/$archive: check that release $version exists and has an archive for $target (or pass --target)"
download "$url/SHA256SUMS" "$tmp/SHA256SUMS" ||
  die "could not download $url/SHA256SUMS: without it the archive cannot be verified, so nothing was installed"

# The archive's line in SHA256SUMS ("HASH  NAME", or "HASH *NAME" in binary mode). No line, or two
# that disagree, is a refusal: an unverified binary is never installed.
expected=$(awk -v name="$archive" '$2 == name || $2 == "*" name { print tolower($1) }' "$tmp/SHA256SUMS" | sort -u)
case "$expected" in
  '') die "SHA256SUMS of $version has no line for $archive, so it cannot be verified: nothing was installed. Check the release's files, or report it to the project." ;;
  *[!0-9a-f]*) die "SHA256SUMS of $version has no single valid SHA-256 for $archive: nothing was installed. Report it to the project." ;;
esac
[ "${#expected}" -eq 64 ] || die "SHA256SUMS of $version has no valid SHA-256 for $archive: nothing was installed. Report it to the project."
actual=$(sha256 "$tmp/$archive")
if [ "$actual" != "$expected" ]; then
  die "checksum mismatch for $archive: SHA256SUMS says $expected, the download is $actual. The download is corrupt or was tampered with: nothing was installed. Try again; if it persists, report it to the project."
fi
say "verified $archive (sha256 $actual)"

mkdir "$tmp/unpacked"
case "$archive" in
  *.zip)
    if command -v unzip >/dev/null 2>&1; then
      unzip -q "$tmp/$archive" -d "$tmp/unpacked"
    else
      tar -xf "$tmp/$archive" -C "$tmp/unpacked"
    fi
    ;;
  *) tar -xzf "$tmp/$archive" -C "$tmp/unpacked" ;;
esac
binary="$tmp/unpacked/reconcile-$version-$target/$exe"
[ -f "$binary" ] || die "$archive holds no reconcile-$version-$target/$exe: nothing was installed. Report it to the project."

mkdir -p "$to" || die "could not create the directory '$to': choose another with --to"
# Copy next to the destination, then rename: a running `reconcile` is never half overwritten.
cp "$binary" "$to/.$exe.install.$$" || die "could not write into '$to': choose another with --to, or check its permissions"
chmod 755 "$to/.$exe.install.$$"
mv -f "$to/.$exe.install.$$" "$to/$exe" || {
  rm -f "$to/.$exe.install.$$"
  die "could not install '$to/$exe'"
}
say "installed reconcile $version ($target) as $to/$exe"
case ":${PATH:-}:" in
  *":$to:"*) ;;
  *) say "note: $to is not on PATH; add it, or run $to/$exe" ;;
esac
