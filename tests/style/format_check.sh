#!/bin/sh
# Every C++ file of the tree is as clang-format-14 writes it with the repo's
# .clang-format; names each file that differs and how to fix it.
#   format_check.sh SOURCE_DIR CLANG_FORMAT
set -eu
source_dir=$1
clang_format=$2
cd "$source_dir"
files=$(find core platform webhook extender node demo bench testing tests \
  \( -name '*.cc' -o -name '*.h' \) -type f | sort)
# One process for all files; --dry-run --Werror names each offending line.
# shellcheck disable=SC2086
if ! "$clang_format" --style=file --dry-run --Werror $files >/dev/null 2>"${TMPDIR:-/tmp}/format_check.$$"; then
  grep -o '^[^:]*:' "${TMPDIR:-/tmp}/format_check.$$" | sort -u | sed 's/:$//; s/^/not formatted: /' >&2
  rm -f "${TMPDIR:-/tmp}/format_check.$$"
  echo "FAIL: files differ from .clang-format; run: $clang_format -i FILE..." >&2
  exit 1
fi
rm -f "${TMPDIR:-/tmp}/format_check.$$"
echo "$(echo "$files" | wc -l) files formatted"
