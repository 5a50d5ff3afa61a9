# Writes OUT with the project version and the git revision of SRC; leaves the
# file untouched when nothing changed so that nothing rebuilds needlessly.
execute_process(COMMAND git -C "${SRC}" describe --always --dirty --abbrev=12
                OUTPUT_VARIABLE rev OUTPUT_STRIP_TRAILING_WHITESPACE
                ERROR_QUIET RESULT_VARIABLE rc)
if(NOT rc EQUAL 0 OR rev STREQUAL "")
    set(rev "unknown")
endif()
set(content "#define ASSAY_VERSION \"${VERSION}\"\n#define ASSAY_GIT_REV \"${rev}\"\n")
if(EXISTS "${OUT}")
    file(READ "${OUT}" old)
else()
    set(old "")
endif()
if(NOT old STREQUAL content)
    file(WRITE "${OUT}" "${content}")
endif()
