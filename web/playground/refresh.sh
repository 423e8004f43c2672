#!/usr/bin/env bash
# Refreshes the playground's vendored assets (vendor/) from the packages package-lock.json
# pins: `npm ci`, then copy the browser builds and their licences, and write SHA256SUMS and
# SOURCES, which a test holds the vendored files to.
#
#   web/playground/refresh.sh           refresh vendor/ (after changing package.json, run
#                                       `npm install` here first to update the lock)
#   web/playground/refresh.sh --check   install into a scratch directory and fail unless
#                                       vendor/ is byte-identical to what the lock pins
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"

# package  file in the package            vendored as
FILES=(
  "graphiql   graphiql.min.js                  graphiql.min.js"
  "graphiql   graphiql.min.css                 graphiql.min.css"
  "graphiql   LICENSE                          LICENSE.graphiql"
  "react      umd/react.production.min.js      react.production.min.js"
  "react      LICENSE                          LICENSE.react"
  "react-dom  umd/react-dom.production.min.js  react-dom.production.min.js"
  "react-dom  LICENSE                          LICENSE.react-dom"
)

# Installs the locked packages in $1 and writes the vendored files, SHA256SUMS and SOURCES
# into $2.
vendor() {
  local work="$1" out="$2"
  (cd "$work" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
  mkdir -p "$out"
  : >"$out/SOURCES"
  local entry package path name version
  for entry in "${FILES[@]}"; do
    read -r package path name <<<"$entry"
    version="$(node -p "require('$work/node_modules/$package/package.json').version")"
    cp "$work/node_modules/$package/$path" "$out/$name"
    printf '%s  %s@%s/%s\n' "$name" "$package" "$version" "$path" >>"$out/SOURCES"
  done
  (cd "$out" && sha256sum $(for entry in "${FILES[@]}"; do read -r _ _ name <<<"$entry"; echo "$name"; done) >SHA256SUMS)
}

if [[ "${1:-}" == "--check" ]]; then
  scratch="$(mktemp -d)"
  trap 'rm -rf "$scratch"' EXIT
  cp "$here/package.json" "$here/package-lock.json" "$scratch/"
  vendor "$scratch" "$scratch/vendor"
  diff -r "$here/vendor" "$scratch/vendor"
  echo "vendor/ matches package-lock.json"
else
  vendor "$here" "$here/vendor"
  echo "vendor/ refreshed:"
  cat "$here/vendor/SOURCES"
fi
