# SPDX-License-Identifier: Apache-2.0
# vlart_warnings: an INTERFACE target every vlart C++ target links for one warning policy.
add_library(vlart_warnings INTERFACE)
target_compile_options(vlart_warnings INTERFACE
  $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wshadow -Wno-unused-parameter>
  $<$<AND:$<COMPILE_LANGUAGE:CXX>,$<BOOL:${VLART_WERROR}>>:-Werror>)
