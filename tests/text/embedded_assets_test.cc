// SPDX-License-Identifier: Apache-2.0
//
// embedded_assets_test.cc: the tokenizer files compiled into vlart_text equal the
// committed ones and load without the source tree.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "support/test_paths.h"
#include "text/bpe_tokenizer.h"
#include "text/embedded_assets.h"
#include "text/sentencepiece_tokenizer.h"

namespace vlart {
namespace {

TEST(EmbeddedAssets, EqualTheCommittedFiles) {
  const std::vector<std::string_view> names = EmbeddedAssetNames();
  ASSERT_GE(names.size(), 3u);
  for (std::string_view name : names) {
    SCOPED_TRACE(std::string(name));
    std::ifstream in(testing::SourceDir() / "assets" / std::string(name), std::ios::binary);
    ASSERT_TRUE(in.good());
    std::stringstream s;
    s << in.rdbuf();
    const std::string file = s.str();
    const std::span<const uint8_t> bytes = EmbeddedAsset(name);
    ASSERT_EQ(bytes.size(), file.size());
    EXPECT_TRUE(std::equal(bytes.begin(), bytes.end(), reinterpret_cast<const uint8_t*>(file.data())));
    EXPECT_EQ(bytes.data()[bytes.size()], 0);  // the terminating zero after the data
  }
  EXPECT_TRUE(EmbeddedAsset("tokenizers/nope.json").empty());
  EXPECT_TRUE(EmbeddedAsset("").empty());
}

TEST(EmbeddedAssets, TokenizersLoadFromTheEmbeddedBytes) {
  const auto json = EmbeddedAsset("tokenizers/xvla_tiny/tokenizer.json");
  ASSERT_FALSE(json.empty());
  Result<BpeTokenizer> bpe =
      BpeTokenizer::FromJsonText(std::string_view(reinterpret_cast<const char*>(json.data()), json.size()));
  ASSERT_TRUE(bpe.ok()) << bpe.status().ToString();
  EXPECT_EQ(bpe->TokenToId("<pad>"), 1);

  const auto model = EmbeddedAsset("tokenizers/paligemma_tiny/tokenizer.model");
  ASSERT_FALSE(model.empty());
  Result<SentencePieceTokenizer> sp =
      SentencePieceTokenizer::FromBytes(std::string_view(reinterpret_cast<const char*>(model.data()), model.size()));
  ASSERT_TRUE(sp.ok()) << sp.status().ToString();
  EXPECT_EQ(sp->bos_id(), 2);
}

TEST(EmbeddedAssets, WritesAFileThatLoads) {
  const std::filesystem::path dir = testing::ScratchDir();
  ASSERT_TRUE(WriteEmbeddedAsset("tokenizers/xvla_tiny/tokenizer.json", dir / "tokenizer.json").ok());
  Result<BpeTokenizer> bpe = BpeTokenizer::FromFile(dir / "tokenizer.json");
  ASSERT_TRUE(bpe.ok()) << bpe.status().ToString();
  EXPECT_EQ(std::filesystem::file_size(dir / "tokenizer.json"),
            EmbeddedAsset("tokenizers/xvla_tiny/tokenizer.json").size());
  const Status unknown = WriteEmbeddedAsset("tokenizers/nope", dir / "x");
  EXPECT_EQ(unknown.code(), StatusCode::kNotFound);
  const Status unwritable = WriteEmbeddedAsset("tokenizers/xvla_tiny/tokenizer.json", dir / "no/such/dir/t.json");
  EXPECT_EQ(unwritable.code(), StatusCode::kInternal);
}

}  // namespace
}  // namespace vlart
