// SPDX-License-Identifier: Apache-2.0
//
// view_upload.cc: see view_upload.h.

#include "models/common/view_upload.h"

#include <cstdlib>

#include "core/finite.h"

namespace vlart {

ImageForm PolicyImageForm() {
  const auto off = [](const char* name) {
    const char* v = std::getenv(name);
    return v != nullptr && v[0] == '0';
  };
  if (off("VLART_DEVICE_PIXELS")) return ImageForm::kPlanes;
  return off("VLART_DEVICE_RESIZE") ? ImageForm::kPixels : ImageForm::kSourcePixels;
}

Status UploadEncodedViews(Backend& backend, const HostTensor& images,
                          std::span<const std::pair<int, int>> views, const Tensor& dst,
                          std::string_view model) {
  const Shape& shape = images.shape();  // [B, V, 3, S, S] F32 or [B, V, ...] U8 (rank 5)
  const int64_t nv = shape[1];
  const int64_t per_image = shape[2] * shape[3] * shape[4];
  if (images.dtype() == DType::kF32) {
    const float* planes = images.data<float>();
    for (const auto& [bi, vi] : views) {
      const float* view = planes + (bi * nv + vi) * per_image;
      const int64_t bad = FirstNonFinite(view, per_image);
      if (bad >= 0) {
        return InvalidArgument("{} input 'images[{}][{}]': expected finite values, got {}", model,
                               bi, vi, view[bad]);
      }
    }
  }
  const Tensor all_views = images.view().Reshape({shape[0] * nv, shape[2], shape[3], shape[4]});
  const int64_t n = static_cast<int64_t>(views.size());
  const auto flat = [&](int64_t e) { return views[e].first * nv + views[e].second; };
  for (int64_t e0 = 0; e0 < n;) {
    int64_t e1 = e0 + 1;
    while (e1 < n && flat(e1) == flat(e0) + (e1 - e0)) ++e1;
    backend.Upload(all_views.Slice(0, flat(e0), flat(e0) + (e1 - e0)), dst.Slice(0, e0, e1));
    e0 = e1;
  }
  return Status::Ok();
}

}  // namespace vlart
