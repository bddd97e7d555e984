#!/usr/bin/env bash
# Builds the images pipelocal's tests and bundled example use, on a machine
# with no registry (Debian packages only) or on a laptop that can pull.
#
#   docker/build-images.sh [busybox] [debian]    (default: both)
#
# pipelocal/busybox        FROM scratch + Debian's static busybox; or a pulled busybox
# pipelocal/debian:bookworm debootstrap + docker import; or a pulled debian-slim
#
# Already-built images are kept. Set PIPELOCAL_REBUILD_IMAGES=1 to rebuild.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(busybox debian)

log() { printf 'build-images: %s\n' "$*" >&2; }
have_image() { [ "${PIPELOCAL_REBUILD_IMAGES:-0}" != 1 ] && docker image inspect "$1" >/dev/null 2>&1; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# Several test binaries may call this at once: one builder at a time.
exec 9>"${TMPDIR:-/tmp}/pipelocal-build-images.lock"
flock 9

work=$(mktemp -d)
trap 'as_root rm -rf "$work"' EXIT

static_busybox() {
  # Debian's busybox-static package, fetched with apt (no registry needed).
  if command -v apt-get >/dev/null 2>&1; then
    (cd "$work" && { apt-get download busybox-static >/dev/null 2>&1 || { as_root apt-get update -qq && apt-get download busybox-static >/dev/null; }; }) || return 1
    dpkg-deb -x "$work"/busybox-static_*.deb "$work/deb"
    cp "$work/deb/bin/busybox" "$1"
    return 0
  fi
  return 1
}

build_busybox() {
  local image=pipelocal/busybox
  if have_image "$image"; then log "$image is present"; return; fi
  local ctx="$work/busybox"
  mkdir -p "$ctx/rootfs/bin" "$ctx/rootfs/etc"
  cp "$here/busybox/Dockerfile" "$ctx/"
  printf 'root:x:0:0:root:/root:/bin/sh\ncodebuild-user:x:1000:1000::/home/codebuild-user:/bin/sh\n' > "$ctx/rootfs/etc/passwd"
  printf 'root:x:0:\ncodebuild-user:x:1000:\n' > "$ctx/rootfs/etc/group"
  if static_busybox "$ctx/rootfs/bin/busybox"; then
    log "building $image from scratch with Debian's static busybox"
    DOCKER_BUILDKIT=0 docker build -q -t "$image" "$ctx" >/dev/null
  elif docker pull -q busybox:stable-musl >/dev/null 2>&1; then
    log "building $image on the pulled busybox:stable-musl"
    rmdir "$ctx/rootfs/bin"
    DOCKER_BUILDKIT=0 docker build -q --build-arg BASE=busybox:stable-musl -t "$image" "$ctx" >/dev/null
  else
    log "cannot build $image: neither apt-get (for busybox-static) nor a registry to pull busybox from"
    exit 1
  fi
  log "built $image"
}

build_debian() {
  local image=pipelocal/debian:bookworm
  if have_image "$image"; then log "$image is present"; return; fi
  if command -v debootstrap >/dev/null 2>&1 || { command -v apt-get >/dev/null 2>&1 && as_root apt-get install -y -qq debootstrap >/dev/null 2>&1; }; then
    log "building $image with debootstrap (a few minutes)"
    local root="$work/debian-root"
    as_root debootstrap --variant=minbase --include=bash,git,zip,unzip,ca-certificates,procps \
      bookworm "$root" "${DEBIAN_MIRROR:-http://deb.debian.org/debian}" >"$work/debootstrap.log" 2>&1 \
      || { tail -20 "$work/debootstrap.log" >&2; exit 1; }
    as_root chroot "$root" useradd --create-home --uid 1000 codebuild-user
    as_root rm -rf "$root/var/lib/apt/lists"/* "$root/var/cache/apt"/*.bin
    as_root tar -C "$root" -c . | docker import -c 'CMD ["/bin/bash"]' \
      -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' - "$image" >/dev/null
  elif docker pull -q debian:bookworm-slim >/dev/null 2>&1; then
    log "building $image on the pulled debian:bookworm-slim"
    DOCKER_BUILDKIT=0 docker build -q -t "$image" "$here/debian" >/dev/null
  else
    log "cannot build $image: neither debootstrap nor a registry to pull debian from"
    exit 1
  fi
  log "built $image"
}

for t in "${targets[@]}"; do
  case "$t" in
    busybox) build_busybox ;;
    debian) build_debian ;;
    *) log "unknown image '$t' (busybox, debian)"; exit 2 ;;
  esac
done
