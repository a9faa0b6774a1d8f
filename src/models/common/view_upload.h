// SPDX-License-Identifier: Apache-2.0
//
// view_upload.h: the image views a plan encodes, checked and uploaded straight from the
// caller's tensor (pi0 and X-VLA share this step of their Upload).
//
// A plan encodes a subset of the (sample, view) slots of images [B, V, ...] (the present or
// unmasked ones), packed in (b, v) order into its device tensor. F32 views (normalised
// planes) must be finite: all views are checked before the first byte is uploaded, so a
// refused call leaves the device untouched; U8 views (packed pixel bytes) are always valid.
// Views that are neighbours in both tensors go up as one upload (one run for the usual
// all-present batch).
#pragma once

#include <span>
#include <string_view>
#include <utility>

#include "core/host_tensor.h"
#include "core/status.h"
#include "ops/backend.h"

namespace vlart {

// The form a model's processor hands the images over in: normalised F32 planes, or the
// (resized) bytes before the normalisation, which the model normalises on its device
// (Backend::NormalizePixels), bit for bit into the same planes, or the camera's bytes before
// the resize as well, which the model also resizes on its device (Backend::ResizePixels,
// Pillow's bytes): X-VLA, when a batch's views share one size and the resize is one
// convolution call (image/resize_taps.h); otherwise, and for pi0 (whose LIBERO views arrive
// at the model's size), kSourcePixels means kPixels.
enum class ImageForm { kPlanes, kPixels, kSourcePixels };
// What the policies use: kSourcePixels, unless VLART_DEVICE_PIXELS starts with '0' (the host
// resizes and normalises: kPlanes) or VLART_DEVICE_RESIZE does (the host resizes: kPixels);
// for A/B runs.
ImageForm PolicyImageForm();

// images: host F32 [B, V, 3, S, S] (or U8 [B, V, ...] bytes of any per-view shape); views: (b, v) of each
// encoded view, in order; dst: device [views.size(), ...] of the same per-view shape.
// `model` names the model in errors ("pi0 input 'images[b][v]': expected finite values,
// got nan").
Status UploadEncodedViews(Backend& backend, const HostTensor& images,
                          std::span<const std::pair<int, int>> views, const Tensor& dst,
                          std::string_view model);

}  // namespace vlart
