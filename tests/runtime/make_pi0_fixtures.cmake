# SPDX-License-Identifier: Apache-2.0
#
# make_pi0_fixtures.cmake: the checkpoint folders the `vlart` CLI tests run on, written
# by the binary under test into ${DIR}:
#   pi0/        make-synthetic --arch pi0 --size tiny --seed 0
#   pi05/       make-synthetic --arch pi05 --size tiny --seed 0
#   no_stats/   pi0 without assets/ (no norm stats)
#   no_tok/     pi0 without tokenizer.model
#   cmake -DVLART=build/vlart -DDIR=build/tests/runtime/cli -P make_pi0_fixtures.cmake
file(REMOVE_RECURSE ${DIR})
foreach(arch pi0 pi05)
  execute_process(COMMAND ${VLART} make-synthetic --arch ${arch} --size tiny --seed 0
                          --out ${DIR}/${arch}
                  RESULT_VARIABLE rc OUTPUT_QUIET ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "make-synthetic --arch ${arch}: exit ${rc}\n${err}")
  endif()
endforeach()
file(COPY ${DIR}/pi0/ DESTINATION ${DIR}/no_stats)
file(REMOVE_RECURSE ${DIR}/no_stats/assets)
file(COPY ${DIR}/pi0/ DESTINATION ${DIR}/no_tok)
file(REMOVE ${DIR}/no_tok/tokenizer.model)
