# Target-based warnings, hardening and sanitizers. Call rtgw_set_project_options(<target>) on every
# target.

# What ships is built with what bookworm's dpkg-buildflags gives Debian's packages with
# hardening=+all on amd64 (stack protector, _FORTIFY_SOURCE=2, which needs optimization and so is
# not in Debug, format checks, full RELRO with immediate binding; PIE is GCC's default here), plus
# -fstack-clash-protection and -fcf-protection, which Debian's later releases add. The binary is
# not marked CET-compatible (bookworm's C start files are not), so -fcf-protection only emits the
# instructions. tests/package/test_deb.py checks PIE, RELRO, BIND_NOW, a non-executable stack,
# stack protector and fortified calls in the packaged binary. Off in sanitizer and fuzz builds,
# whose instrumentation covers the same ground.
option(RTGW_HARDENING "Build with Debian's hardening compiler and linker flags" ON)

function(rtgw_set_project_options target)
  target_compile_options(${target} PRIVATE
    -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Woverloaded-virtual
    -Wimplicit-fallthrough -Wno-missing-field-initializers)
  if(RTGW_WARNINGS_AS_ERRORS)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
  if(RTGW_HARDENING AND NOT RTGW_SANITIZE AND NOT RTGW_FUZZ)
    target_compile_options(${target} PRIVATE
      -fstack-protector-strong -fstack-clash-protection -fcf-protection
      -Wformat -Werror=format-security $<$<NOT:$<CONFIG:Debug>>:-D_FORTIFY_SOURCE=2>)
    target_link_options(${target} PRIVATE -Wl,-z,relro -Wl,-z,now)
  endif()
  if(RTGW_SANITIZE)
    string(REPLACE ";" "," _san "${RTGW_SANITIZE}")
    target_compile_options(${target} PRIVATE -fsanitize=${_san} -fno-omit-frame-pointer
                                             -fno-sanitize-recover=all)
    target_link_options(${target} PRIVATE -fsanitize=${_san})
    # GCC >= 12 warns (-Wtsan) that TSan does not model std::atomic_thread_fence, which Asio's
    # fenced_block uses around every handler call; with -Werror that stops the tsan build. Asio
    # hands handlers between threads through mutex-protected queues, which TSan does see.
    if("thread" IN_LIST RTGW_SANITIZE AND CMAKE_CXX_COMPILER_ID STREQUAL "GNU"
       AND CMAKE_CXX_COMPILER_VERSION VERSION_GREATER_EQUAL 12)
      target_compile_options(${target} PRIVATE -Wno-tsan)
    endif()
  endif()
endfunction()
