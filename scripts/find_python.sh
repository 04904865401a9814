#!/usr/bin/env bash
# Print the path of a Python of the given minor version (e.g. 3.13), or fail.
set -euo pipefail
want=$1
for candidate in "python$want" /root/.pyenv/versions/"$want"*/bin/python"$want" /usr/bin/python"$want"; do
  if path=$(command -v "$candidate" 2>/dev/null) && "$path" -c 'import sys' >/dev/null 2>&1; then
    echo "$path"
    exit 0
  fi
done
exit 1
