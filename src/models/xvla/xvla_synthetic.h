// SPDX-License-Identifier: Apache-2.0
//
// xvla_synthetic.h: random-weight X-VLA checkpoints with the real names, shapes and dtype.
//
// Every tensor the model reads is generated (plus the buffers a released file carries:
// the temporal sinusoid table and BART's unused final_logits_bias), with scales that
// keep activations O(1) through the stack so the model computes something non-trivial:
// linear/conv weights N(0, 1/fan_in) (output projections further divided by
// sqrt(2 * layers)), biases N(0, 0.02^2), LayerNorm gamma 1 + N(0, 0.05^2), beta
// N(0, 0.02^2), embeddings N(0, 0.02^2). Deterministic in the seed.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "core/host_tensor.h"
#include "models/xvla/xvla_config.h"

namespace vlart::xvla {

// (checkpoint key, f32 tensor) in a stable order.
std::vector<std::pair<std::string, HostTensor>> MakeSyntheticXvlaWeights(const XvlaConfig& cfg,
                                                                          uint64_t seed);

}  // namespace vlart::xvla
