# House warnings (docs/style.md); -Werror only when MPSHARE_WERROR is on (CI).
add_library(mpshare_warnings INTERFACE)
target_compile_options(mpshare_warnings INTERFACE
  -Wall -Wextra -Wcast-qual -Wmissing-declarations -Wnon-virtual-dtor -Wvla
  $<$<BOOL:${MPSHARE_WERROR}>:-Werror>)
