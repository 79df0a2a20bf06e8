#!/usr/bin/env bash
# Builds the local control plane and its clients from Go modules, once per version, into a
# cache outside the clone (so a second run and CI on the same machine cost seconds):
#
#   e2e/k8s/build.sh [--link DIR]     prints the bin directory; --link makes DIR a symlink to it
#
# K8S_VERSION (default: the release pinned in e2e/k8s/go.mod) picks the Kubernetes release.
# The pinned release builds from the committed module (go.mod + go.sum here); another release
# gets a module generated in the cache (its staging modules mapped to v0.X.Y, go.sum resolved
# through the Go module proxy). Binaries, all CGO_ENABLED=0:
#   kube-apiserver, kube-controller-manager, kubectl   k8s.io/kubernetes/cmd/...
#   etcd        go.etcd.io/etcd/server/v3 at the version that release of Kubernetes requires
#   helm        helm.sh/helm/v3/cmd/helm, pinned in e2e/k8s/helm/go.mod
#   kube-faults the API fault proxy in e2e/k8s/faults (this module)
#   sluice-metrics-adapter  the External metrics API from Prometheus, e2e/k8s/metrics-adapter
#               (its own module, pinned at the control plane's k8s.io/* release; the same
#               binary serves any K8S_VERSION)
# Cache: ${SLUICE_CACHE:-~/.cache/sluice}/k8s-VERSION/bin, rebuilt only when the module files or
# this script change (a stamp holds their hash).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache_root=${SLUICE_CACHE:-$HOME/.cache/sluice}
link=""
if [ "${1:-}" = "--link" ]; then link=${2:?--link needs a directory}; fi

log() { echo "k8s-build: $*" >&2; }

# Go: this machine's go when it is new enough, else the approved toolchain through the Go module
# proxy (GOTOOLCHAIN; never a download site).
command -v go >/dev/null 2>&1 || { log "go is not installed (Go >= 1.21 is needed to fetch the pinned toolchain)"; exit 1; }
go_minor=$(go env GOVERSION | sed -E 's/^go1\.([0-9]+).*/\1/')
if [ "${go_minor:-0}" -lt 26 ] && [ -z "${GOTOOLCHAIN:-}" ]; then
  export GOTOOLCHAIN=go1.27.3
  log "go $(go env GOVERSION) is older than the modules need; using GOTOOLCHAIN=$GOTOOLCHAIN"
fi
export CGO_ENABLED=0

pinned=$(sed -nE 's/^\s*k8s\.io\/kubernetes (v[0-9.]+)( .*)?$/\1/p' "$here/go.mod")
version=${K8S_VERSION:-$pinned}
[[ $version =~ ^v1\.([0-9]+)\.([0-9]+)$ ]] || { log "K8S_VERSION must look like v1.36.3 (got '$version')"; exit 2; }
minor=${BASH_REMATCH[1]}
out=$cache_root/k8s-$version
bin=$out/bin
mkdir -p "$bin"

# One build at a time per version (parallel tests may all ask for the binaries).
exec 9>"$out/.lock"
flock 9

if [ "$version" = "$pinned" ]; then
  src=$here
else
  # A module for another release, generated once: require k8s.io/kubernetes at that version
  # and map each staging module (its go.mod replaces them with ./staging/...) to v0.X.Y.
  src=$out/src
  if [ ! -f "$src/go.sum" ]; then
    log "generating a module for Kubernetes $version in $src"
    mkdir -p "$src"
    modfile=$(cd "$src" && go mod download -json "k8s.io/kubernetes@$version" | sed -nE 's/.*"GoMod": "(.*)",?/\1/p')
    {
      echo "module sluice.dev/e2e/k8s"
      echo
      echo "go $(sed -nE 's/^go ([0-9.]+)$/\1/p' "$modfile")"
      echo
      echo "tool ("
      echo "	go.etcd.io/etcd/server/v3"
      echo "	k8s.io/kubernetes/cmd/kube-apiserver"
      echo "	k8s.io/kubernetes/cmd/kube-controller-manager"
      echo "	k8s.io/kubernetes/cmd/kubectl"
      echo ")"
      echo
      echo "require k8s.io/kubernetes $version"
      echo
      echo "replace ("
      sed -nE "s#^\s*(k8s\.io/[a-z0-9-]+) => \./staging/.*#\t\1 => \1 v0.$minor.${version##*.}#p" "$modfile"
      echo ")"
    } >"$src/go.mod"
    mkdir -p "$src/faults"
    cp "$here"/faults/*.go "$src/faults/"
    (cd "$src" && go mod tidy) >&2
  fi
fi

stamp_of() { cat "$@" "$0" | sha256sum | cut -c1-16; }
k8s_stamp=$(stamp_of "$src/go.mod" "$src/go.sum")
helm_stamp=$(stamp_of "$here/helm/go.mod" "$here/helm/go.sum")
faults_stamp=$(stamp_of "$here"/faults/*.go "$src/go.sum")
adapter_stamp=$(stamp_of "$here"/metrics-adapter/*.go "$here/metrics-adapter/go.mod" "$here/metrics-adapter/go.sum")

ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ldflags+=" -X $pkg.gitVersion=$version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
  ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
done

build() {  # build NAME STAMP DIR PACKAGE [LDFLAGS]
  local name=$1 stamp=$2 dir=$3 pkg=$4 flags=${5:-"-s -w"} t0=$SECONDS
  if [ -x "$bin/$name" ] && [ "$(cat "$bin/.$name.stamp" 2>/dev/null)" = "$stamp" ]; then
    return 0
  fi
  log "building $name ($pkg)"
  (cd "$dir" && go build -trimpath -ldflags "$flags" -o "$bin/$name.tmp" "$pkg")
  mv "$bin/$name.tmp" "$bin/$name"
  echo "$stamp" >"$bin/.$name.stamp"
  log "built $name in $((SECONDS - t0)) s"
}

build etcd "$k8s_stamp" "$src" go.etcd.io/etcd/server/v3
build kube-apiserver "$k8s_stamp" "$src" k8s.io/kubernetes/cmd/kube-apiserver "$ldflags"
build kube-controller-manager "$k8s_stamp" "$src" k8s.io/kubernetes/cmd/kube-controller-manager "$ldflags"
build kubectl "$k8s_stamp" "$src" k8s.io/kubernetes/cmd/kubectl "$ldflags"
build kube-faults "$faults_stamp" "$src" ./faults
build sluice-metrics-adapter "$adapter_stamp" "$here/metrics-adapter" .
# As helm's own Makefile does: its default Kubernetes version (for templates and lint) follows
# the client-go it is built with, instead of v1.20.
helm_version=$(sed -nE 's/^\s*helm\.sh\/helm\/v3 (v[0-9.]+)( .*)?$/\1/p' "$here/helm/go.mod")
helm_k8s_minor=$(sed -nE 's/^\s*k8s\.io\/client-go v0\.([0-9]+)\..*/\1/p' "$here/helm/go.mod")
helm_ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=$helm_version"
for pkg in helm.sh/helm/v3/pkg/chartutil helm.sh/helm/v3/pkg/lint/rules; do
  helm_ldflags+=" -X $pkg.k8sVersionMajor=1 -X $pkg.k8sVersionMinor=$helm_k8s_minor"
done
build helm "$helm_stamp" "$here/helm" helm.sh/helm/v3/cmd/helm "$helm_ldflags"

if [ -n "$link" ]; then
  ln -sfn "$bin" "$link"
fi
echo "$bin"
