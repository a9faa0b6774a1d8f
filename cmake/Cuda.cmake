# SPDX-License-Identifier: Apache-2.0
#
# CUDA detection. VLART_CUDA_ARCHS lists the targets (CMAKE_CUDA_ARCHITECTURES syntax).
# The default 90a is what the H100/H200 fast path needs (wgmma, setmaxnreg); the
# portable deployment list (docs/ARCHITECTURE.md, "Building for GPUs") is
#   80;86;87;89;90a;100;110;120
#   80 A100 | 86 RTX 30 | 87 Jetson Orin | 89 RTX 40, L40 | 90a H100/H200 (Hopper-only
#   instructions) | 100 B200 | 110 Thor | 120 RTX 50. CUDA 13 targets nothing below sm_75.
set(VLART_CUDA_ARCHS "90a" CACHE STRING "CUDA architectures to build for")
# The list as one word for compile definitions (a ';' there would split the definition in two):
# "80;90a" -> "80,90a". `vlart version` and the no-kernel-image error print it.
string(REPLACE ";" "," VLART_CUDA_ARCHS_TEXT "${VLART_CUDA_ARCHS}")
set(VLART_HAVE_CUDA OFF)
if(NOT VLART_CUDA STREQUAL "OFF")
  include(CheckLanguage)
  if(NOT CMAKE_CUDA_COMPILER AND EXISTS /usr/local/cuda/bin/nvcc)
    set(CMAKE_CUDA_COMPILER /usr/local/cuda/bin/nvcc)
  endif()
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    set(CMAKE_CUDA_ARCHITECTURES ${VLART_CUDA_ARCHS})
    enable_language(CUDA)
    if(NOT "cuda_std_20" IN_LIST CMAKE_CUDA_COMPILE_FEATURES)
      # CMake 3.25 (Debian 12) does not know nvcc's C++20 flag (and would demand it anyway,
      # since CUDA sources inherit CXX_STANDARD 20): teach it. nvcc >= 12 accepts -std=c++20.
      set(CMAKE_CUDA20_STANDARD_COMPILE_OPTION "-std=c++20")
      set(CMAKE_CUDA20_EXTENSION_COMPILE_OPTION "-std=c++20")
      list(APPEND CMAKE_CUDA_COMPILE_FEATURES cuda_std_20)
      set(CMAKE_CUDA20_COMPILE_FEATURES cuda_std_20)
    endif()
    set(CMAKE_CUDA_STANDARD 20)
    set(CMAKE_CUDA_STANDARD_REQUIRED ON)
    find_package(CUDAToolkit REQUIRED)
    set(VLART_HAVE_CUDA ON)
    message(STATUS "vlart: CUDA backend ON (nvcc ${CMAKE_CUDA_COMPILER_VERSION}, archs ${CMAKE_CUDA_ARCHITECTURES})")
  elseif(VLART_CUDA STREQUAL "ON")
    message(FATAL_ERROR "VLART_CUDA=ON but no CUDA compiler was found")
  else()
    message(STATUS "vlart: CUDA backend OFF (no nvcc found)")
  endif()
endif()
