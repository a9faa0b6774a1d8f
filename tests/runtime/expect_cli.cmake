# SPDX-License-Identifier: Apache-2.0
#
# expect_cli.cmake: runs `${VLART} ${ARGS}` (ARGS a ;-list) and fails unless it exits with
# exactly ${EXPECT} (a crash reads as a signal name, not a number, and fails), its stderr
# matches ${ERR} and its stdout matches ${OUT} (regexes; each optional), and no VLART_CHECK
# fired. For EXPECT=1 stderr must also carry a "vlart <command>: " message.
#   cmake -DVLART=build/vlart "-DARGS=run;--model;DIR;--state;1,2" -DEXPECT=1
#         "-DERR=expected 8 values" -P expect_cli.cmake
execute_process(COMMAND ${VLART} ${ARGS}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
string(REPLACE ";" " " shown "${ARGS}")
if(NOT "${rc}" STREQUAL "${EXPECT}")
  message(FATAL_ERROR "vlart ${shown}: expected exit status ${EXPECT}, got '${rc}'\n"
                      "stdout:\n${out}\nstderr:\n${err}")
endif()
if(err MATCHES "check failed")
  message(FATAL_ERROR "vlart ${shown}: a VLART_CHECK fired:\n${err}")
endif()
if("${EXPECT}" STREQUAL "1")
  list(GET ARGS 0 command)
  if(NOT err MATCHES "vlart ${command}: ")
    message(FATAL_ERROR "vlart ${shown}: no 'vlart ${command}: ' message on stderr:\n${err}")
  endif()
endif()
if(DEFINED ERR AND NOT err MATCHES "${ERR}")
  message(FATAL_ERROR "vlart ${shown}: stderr does not match '${ERR}':\n${err}")
endif()
if(DEFINED OUT AND NOT out MATCHES "${OUT}")
  message(FATAL_ERROR "vlart ${shown}: stdout does not match '${OUT}':\n${out}")
endif()
