# MPSHARE_SANITIZE=thread|address|undefined instruments every target of the build.
if(MPSHARE_SANITIZE)
  if(NOT MPSHARE_SANITIZE MATCHES "^(address|thread|undefined)$")
    message(FATAL_ERROR "MPSHARE_SANITIZE must be address, thread or undefined, got '${MPSHARE_SANITIZE}'")
  endif()
  add_compile_options(-fsanitize=${MPSHARE_SANITIZE} -fno-omit-frame-pointer)
  add_link_options(-fsanitize=${MPSHARE_SANITIZE})
endif()
