// SPDX-License-Identifier: Apache-2.0
//
// safetensors_corrupt_test.cc: every folder under tests/io/corrupt/ (one failure mode
// each, made by tools/make_io_fixtures.py) must fail to open with a Status whose
// message contains the substring listed here. The table and the folders must match
// one to one, so a new corrupt case cannot be added without its expected message.

#include <gtest/gtest.h>

#include <map>
#include <set>

#include "io/checkpoint.h"
#include "io/safetensors.h"
#include "io_test_util.h"
#include "support/test_paths.h"

namespace vlart {
namespace {

using testing::TestDataPath;

const std::map<std::string, std::string>& ExpectedMessages() {
  static const std::map<std::string, std::string> kCases = {
      {"empty_file", "file size: expected at least 8 bytes (the header length), got 0"},
      {"truncated_length", "file size: expected at least 8 bytes (the header length), got 3"},
      {"absurd_header_length",
       "header length: expected at most 100000000 bytes (the safetensors limit), got "
       "1152921504606846976"},
      {"header_past_eof", "got 1000; hint: the file is truncated"},
      {"bad_json",
       "header: invalid JSON: parse error at line 1, column 41: syntax error while parsing object "
       "key - unexpected end of input"},
      {"invalid_utf8",
       "header: invalid JSON: parse error at line 1, column 4: syntax error while parsing object "
       "key - invalid string: ill-formed UTF-8 byte"},
      {"not_an_object", "header: expected a JSON object, got array"},
      {"entry_not_object",
       "tensor 'w': expected an object with dtype, shape and data_offsets, got integer"},
      {"missing_dtype", "tensor 'w': missing field 'dtype'"},
      {"missing_shape", "tensor 'w': missing field 'shape'"},
      {"missing_data_offsets", "tensor 'w': missing field 'data_offsets'"},
      {"dtype_wrong_type", "tensor 'w': field 'dtype': expected a string, got integer"},
      {"shape_wrong_type", "tensor 'w': field 'shape': expected an array of integers, got string"},
      {"shape_float_dim", "tensor 'w': shape[0]: expected a non-negative integer, got float"},
      {"offsets_wrong_type",
       "tensor 'w': data_offsets[1]: expected a non-negative integer, got string"},
      {"offsets_wrong_length",
       "tensor 'w': field 'data_offsets': expected an array of 2 integers, got 3 elements"},
      {"unknown_dtype",
       "tensor 'w': dtype: expected one of F64, F32, F16, BF16, F8_E4M3, I64, I32, I16, I8, U8, "
       "BOOL, got 'Q4_K'"},
      {"negative_shape", "tensor 'w': shape[0]: expected a non-negative integer, got -2"},
      {"overflowing_numel",
       "tensor 'w': shape [4611686018427387904, 4611686018427387904]: element count times element "
       "size overflows int64"},
      {"overflowing_bytes",
       "tensor 'w': shape [1152921504606846976]: element count times element size overflows int64"},
      {"too_many_dims", "tensor 'w': shape: expected at most 6 dimensions, got 7"},
      {"offsets_past_eof",
       "tensor 'w': data_offsets [0, 4096]: expected end <= 8 (the data section size)"},
      {"reversed_offsets", "tensor 'w': data_offsets [8, 0]: expected begin <= end"},
      {"overlapping_ranges", "tensor 'b': data_offsets [4, 12] overlap tensor 'a' [0, 8]"},
      {"gap_between_tensors",
       "tensor 'b': data_offsets [12, 20]: expected to begin at 8 (where tensor 'a' ends), got a "
       "gap of 4 bytes"},
      {"size_mismatch",
       "tensor 'w': byte size: expected 12 (F32 [3]), got 8 (data_offsets [0, 8])"},
      {"duplicate_names", "header: invalid JSON: duplicate key 'w' in the top-level object"},
      {"duplicate_field", "header: invalid JSON: duplicate key 'dtype' in object 'w'"},
      {"truncated_data",
       "tensor 'b': data_offsets [8, 16]: expected end <= 12 (the data section size)"},
      {"trailing_bytes", "data section: expected 8 bytes (where the last tensor ends), got 12"},
      {"metadata_value_not_string", "__metadata__ entry 'format': expected a string, got integer"},
      {"metadata_not_object", "__metadata__: expected an object of string values, got array"},
      {"deep_nesting", "nesting deeper than 128 levels"},
      {"shard_missing",
       "shard 'model-00002-of-00002.safetensors' (listed in model.safetensors.index.json): "
       "opening"},
      {"shard_lacks_tensor",
       "tensor 'b': expected in shard 'model-00001-of-00002.safetensors' (as "
       "model.safetensors.index.json says), got a shard without it"},
      {"shard_unmapped_tensor",
       "tensor 'extra' in shard 'model-00001-of-00002.safetensors': expected an entry in "
       "model.safetensors.index.json's weight_map, got none"},
      {"shard_tensor_twice",
       "tensor 'b' in shard 'model-00001-of-00002.safetensors': expected only in shard "
       "'model-00002-of-00002.safetensors'"},
      {"shard_corrupt",
       "shard 'model-00001-of-00002.safetensors' (listed in model.safetensors.index.json): "
       "safetensors"},
      {"index_bad_json", "model.safetensors.index.json': invalid JSON: parse error at line 1"},
      {"index_no_weight_map", "field 'weight_map': expected an object, got nothing"},
      {"index_weight_map_not_object", "field 'weight_map': expected an object, got array"},
      {"index_shard_not_string", "weight_map['a']: expected a file name string, got integer"},
      {"index_path_escape",
       "weight_map['a']: expected a file name in the checkpoint folder, got "
       "'../model-00001-of-00002.safetensors'"},
      {"index_duplicate_key", "invalid JSON: duplicate key 'a' in object 'weight_map'"},
      {"no_weights", "expected model.safetensors or model.safetensors.index.json, found neither"},
  };
  return kCases;
}

std::filesystem::path CorruptDir() { return TestDataPath("io/corrupt"); }

TEST(SafetensorsCorrupt, TableCoversEveryFolder) {
  std::set<std::string> folders;
  for (const auto& e : std::filesystem::directory_iterator(CorruptDir())) {
    if (e.is_directory()) folders.insert(e.path().filename().string());
  }
  std::set<std::string> table;
  for (const auto& [name, unused] : ExpectedMessages()) table.insert(name);
  EXPECT_EQ(folders, table);
}

class CorruptCase : public ::testing::TestWithParam<std::string> {};

TEST_P(CorruptCase, CheckpointOpenFailsWithClearMessage) {
  const std::string& name = GetParam();
  const std::filesystem::path dir = CorruptDir() / name;
  auto ckpt = Checkpoint::Open(dir);
  ASSERT_FALSE(ckpt.ok()) << name << " opened";
  const std::string& msg = ckpt.status().message();
  EXPECT_NE(msg.find(ExpectedMessages().at(name)), std::string::npos)
      << "case " << name << "\n  expected substring: " << ExpectedMessages().at(name)
      << "\n  got: " << msg;
  EXPECT_NE(msg.find(dir.string()), std::string::npos) << "message does not name the path: " << msg;
}

class SingleFileCorruptCase : public ::testing::TestWithParam<std::string> {};

TEST_P(SingleFileCorruptCase, FromMemoryGivesTheSameMessage) {
  const std::filesystem::path file = CorruptDir() / GetParam() / "model.safetensors";
  const std::string bytes = testing::ReadFileBytes(file);
  auto f = SafetensorsFile::OpenFromMemory(
      std::span(reinterpret_cast<const std::byte*>(bytes.data()), bytes.size()), "in-memory");
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(f.status().message().find("safetensors 'in-memory': "), std::string::npos);
  EXPECT_NE(f.status().message().find(ExpectedMessages().at(GetParam())), std::string::npos)
      << f.status().message();
}

// All cases, or only those whose folder holds a model.safetensors.
std::vector<std::string> CaseNames(bool single_file_only) {
  std::vector<std::string> names;
  for (const auto& [name, unused] : ExpectedMessages()) {
    if (!single_file_only || std::filesystem::exists(CorruptDir() / name / "model.safetensors")) {
      names.push_back(name);
    }
  }
  return names;
}

std::string ParamName(const ::testing::TestParamInfo<std::string>& info) { return info.param; }

INSTANTIATE_TEST_SUITE_P(All, CorruptCase, ::testing::ValuesIn(CaseNames(false)), ParamName);
INSTANTIATE_TEST_SUITE_P(All, SingleFileCorruptCase, ::testing::ValuesIn(CaseNames(true)),
                         ParamName);

}  // namespace
}  // namespace vlart
