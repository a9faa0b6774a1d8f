# SPDX-License-Identifier: Apache-2.0
#
# expect_exit.cmake: runs `${VLART} inspect ${DIR}` and fails unless it exits with
# exactly ${EXPECT} (a crash reads as a signal name, not a number, and fails) and,
# for EXPECT=1, printed a "vlart inspect: " message and no failed check.
#   cmake -DVLART=build/vlart -DDIR=tests/io/corrupt/empty_file -DEXPECT=1 -P expect_exit.cmake
execute_process(COMMAND ${VLART} inspect ${DIR}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT "${rc}" STREQUAL "${EXPECT}")
  message(FATAL_ERROR "vlart inspect ${DIR}: expected exit status ${EXPECT}, got '${rc}'\n"
                      "stdout:\n${out}\nstderr:\n${err}")
endif()
if("${EXPECT}" STREQUAL "1")
  if(NOT err MATCHES "vlart inspect: ")
    message(FATAL_ERROR "vlart inspect ${DIR}: no 'vlart inspect: ' message on stderr:\n${err}")
  endif()
  if(err MATCHES "check failed")
    message(FATAL_ERROR "vlart inspect ${DIR}: a VLART_CHECK fired:\n${err}")
  endif()
endif()
