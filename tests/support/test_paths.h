// SPDX-License-Identifier: Apache-2.0
//
// test_paths.h: where tests find committed test data and write scratch files.
#pragma once

#include <filesystem>
#include <string>

namespace vlart::testing {

// The repository root (from $VLART_SOURCE_DIR, which CTest sets, else the build-time path).
std::filesystem::path SourceDir();
// SourceDir() / "tests" / relative.
std::filesystem::path TestDataPath(const std::string& relative);
// A fresh, empty directory under the system temp dir, unique to this test.
std::filesystem::path ScratchDir();

}  // namespace vlart::testing
