#!/usr/bin/env bash
# The module graph of src/: which top-level module uses which (from `use crate::...`
# and `crate::x::` paths), and any arrow that points up the layer order of
# docs/design.md. Prints the edges, then `upward: N`; exits 1 when N > 0.
#   scripts/module-graph.sh          # edges + check
#   scripts/module-graph.sh --dot    # Graphviz, for `| dot -Tsvg`
set -euo pipefail
cd "$(dirname "$0")/.."
# Lowest first; a module may use only those at or before it. `value_enum` is a
# crate-private helper (Display/FromStr for CLI value enums), below every layer.
layers=(value_enum protocol negotiate versions client emulator backend matrix report cli)
# A module not in the list ranks above everything: a use of it counts as upward until it is placed.
rank() { local i; for i in "${!layers[@]}"; do [[ ${layers[$i]} == "$1" ]] && { echo "$i"; return; }; done; echo 99; }

edges=$(grep -rnoE 'crate::[a-z_]+' src --include='*.rs' \
  | grep -v '^src/main.rs' \
  | sed -E 's#^src/([a-z_]+)(/|\.rs).*crate::([a-z_]+)$#\1 \3#' \
  | awk '$1 != $2' | sort -u)

if [[ ${1:-} == --dot ]]; then
  echo 'digraph modules {'
  echo '  rankdir=BT;'
  while read -r from to; do echo "  $from -> $to;"; done <<<"$edges"
  echo '}'
  exit 0
fi

upward=0
while read -r from to; do
  [[ -z $from ]] && continue
  rf=$(rank "$from"); rt=$(rank "$to")
  if (( rt > rf )); then echo "$from -> $to   UPWARD"; upward=$((upward + 1)); else echo "$from -> $to"; fi
done <<<"$edges"
echo "upward: $upward"
(( upward == 0 ))
