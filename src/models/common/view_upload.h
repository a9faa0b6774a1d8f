// SPDX-License-Identifier: Apache-2.0
//
// view_upload.h: the image views a plan encodes, checked and uploaded straight from the
// caller's tensor (pi0 and X-VLA share this step of their Upload).
//
// A plan encodes a subset of the (sample, view) slots of images [B, V, 3, S, S] (the
// present or unmasked ones), packed in (b, v) order into its device tensor. Every value of
// an encoded view must be finite; all views are checked before the first byte is uploaded,
// so a refused call leaves the device untouched. Views that are neighbours in both tensors
// go up as one upload (one run for the usual all-present batch).
#pragma once

#include <span>
#include <string_view>
#include <utility>

#include "core/host_tensor.h"
#include "core/status.h"
#include "ops/backend.h"

namespace vlart {

// images: host F32 [B, V, 3, S, S]; views: (b, v) of each encoded view, in order;
// dst: device [views.size(), 3, S, S]. `model` names the model in errors ("pi0 input
// 'images[b][v]': expected finite values, got nan").
Status UploadEncodedViews(Backend& backend, const HostTensor& images,
                          std::span<const std::pair<int, int>> views, const Tensor& dst,
                          std::string_view model);

}  // namespace vlart
