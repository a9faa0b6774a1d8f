# SPDX-License-Identifier: Apache-2.0
#
# Third-party dependencies, all from Debian packages (scripts/setup.sh installs them;
# nothing is fetched at build time). Why each one is here: docs/ARCHITECTURE.md.
find_package(nlohmann_json 3.10 REQUIRED)   # JSON: safetensors headers, config.json, tokenizer.json
find_package(fmt 9 REQUIRED)                # formatting (g++ 12 has no <format>); header-only target used
find_package(CLI11 REQUIRED)                # CLI parsing (header-only)
find_package(Threads REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(SENTENCEPIECE REQUIRED IMPORTED_TARGET sentencepiece)  # PaliGemma tokenizer
pkg_check_modules(OPENBLAS REQUIRED IMPORTED_TARGET openblas)            # CPU reference GEMM
find_package(PNG REQUIRED)                  # image decode for the CLI
find_package(JPEG REQUIRED)                 # libjpeg-turbo, as Pillow uses

if(VLART_BUILD_TESTS)
  find_package(GTest REQUIRED)
  include(GoogleTest)
endif()
