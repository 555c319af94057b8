#!/bin/sh
# core/ is the pure domain: it may include the C++ standard library and other
# core/ headers, nothing else (no JSON library, no Asio, no <sys/socket.h>).
# The compiler cannot tell a system header from a standard one, so this scan
# is what keeps the rule: mpshare_core does not build while it fails.
#   check_core_includes.sh SOURCE_DIR [STAMP]   STAMP is touched on success
set -eu
source_dir=$1
stamp=${2:-}
cd "$source_dir"

# The C++ standard library's headers up to C++23, the <cname> forms of the C
# library included; the <name.h> C headers are not (they cannot be told from
# POSIX ones such as <unistd.h>).
standard="algorithm any array atomic barrier bit bitset cassert cctype cerrno
 cfenv cfloat charconv chrono cinttypes climits clocale cmath codecvt compare
 complex concepts condition_variable coroutine csetjmp csignal cstdarg cstddef
 cstdint cstdio cstdlib cstring ctime cuchar cwchar cwctype deque exception
 execution expected filesystem flat_map flat_set format forward_list fstream
 functional future generator initializer_list iomanip ios iosfwd iostream
 istream iterator latch limits list locale map mdspan memory memory_resource
 mutex new numbers numeric optional ostream print queue random ranges ratio
 regex scoped_allocator semaphore set shared_mutex source_location span
 spanstream sstream stack stacktrace stdexcept stdfloat stop_token streambuf
 string string_view syncstream system_error thread tuple type_traits typeindex
 typeinfo unordered_map unordered_set utility valarray variant vector version"

# One awk over every file: the check costs milliseconds, not a process a line.
find core -type f \( -name '*.h' -o -name '*.cc' \) | sort | xargs awk -v standard="$standard" '
  BEGIN { n = split(standard, names, /[ \n]+/); for (i = 1; i <= n; i++) allowed["<" names[i] ">"] = 1 }
  /^[ \t]*#[ \t]*include/ {
    header = $0
    sub(/^[ \t]*#[ \t]*include[ \t]*/, "", header)
    sub(/[ \t]*\/\/.*$/, "", header)
    sub(/[ \t]+$/, "", header)
    if (header in allowed) next
    if (header ~ /^"core\// && header !~ /\.\./) next
    printf "%s:%d: #include %s: core/ may include only the C++ standard library (<vector>, <string>, ...) and \"core/...\" headers; I/O and libraries belong in platform/\n", FILENAME, FNR, header > "/dev/stderr"
    failed = 1
  }
  END { exit failed }
'
if [ -n "$stamp" ]; then touch "$stamp"; fi
