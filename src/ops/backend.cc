// SPDX-License-Identifier: Apache-2.0
//
// backend.cc: names for the op interface's enums.

#include "ops/backend.h"

namespace vlart {

const char* ActivationName(Activation act) {
  switch (act) {
    case Activation::kNone: return "none";
    case Activation::kGeluErf: return "gelu_erf";
    case Activation::kGeluTanh: return "gelu_tanh";
    case Activation::kSilu: return "silu";
    case Activation::kSigmoid: return "sigmoid";
  }
  return "?";
}

}  // namespace vlart
