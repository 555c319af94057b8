# House warnings (docs/style.md); -Werror only when MPSHARE_WERROR is on (CI).
add_library(mpshare_warnings INTERFACE)
target_compile_options(mpshare_warnings INTERFACE
  -Wall -Wextra -Wcast-qual -Wmissing-declarations -Wnon-virtual-dtor -Wvla
  $<$<BOOL:${MPSHARE_WERROR}>:-Werror>
  # GCC 12 reports std::map members of aggregate initializer lists as
  # maybe-uninitialized (GCC bug 107138) and, at -O3, std::string appends as
  # overlapping memcpy (-Wrestrict, GCC bug 105329); keep both visible, not fatal.
  $<$<AND:$<BOOL:${MPSHARE_WERROR}>,$<CXX_COMPILER_ID:GNU>>:-Wno-error=maybe-uninitialized -Wno-error=restrict>)
