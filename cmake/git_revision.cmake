# Writes OUT (a header defining EDGE_PROXY_REVISION) from `git describe` of SOURCE_DIR, at every
# build, touching the file only when the revision changed. Without git (a source tarball or a
# container build context without .git) the revision is EDGE_PROXY_REVISION if given, else
# "unknown".
if(DEFINED REVISION AND NOT REVISION STREQUAL "")
  set(revision "${REVISION}")
else()
  execute_process(
    COMMAND git -C "${SOURCE_DIR}" describe --always --dirty --abbrev=12
    OUTPUT_VARIABLE revision OUTPUT_STRIP_TRAILING_WHITESPACE
    RESULT_VARIABLE failed ERROR_QUIET)
  if(failed OR revision STREQUAL "")
    set(revision "unknown")
  endif()
endif()
set(content "#define EDGE_PROXY_REVISION \"${revision}\"\n")
if(EXISTS "${OUT}")
  file(READ "${OUT}" old)
endif()
if(NOT old STREQUAL content)
  file(WRITE "${OUT}" "${content}")
endif()
