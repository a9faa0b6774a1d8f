// SPDX-License-Identifier: Apache-2.0
//
// pi0_schedule.h: openpi's Euler schedule and sin-cos time embedding, bit for bit.
//
// openpi PI0Pytorch.sample_actions (models_pytorch/pi0_pytorch.py):
//   dt = torch.tensor(-1.0 / num_steps, float32); time = torch.tensor(1.0, float32)
//   while time >= -dt / 2:  v = f(x, time); x = x + dt * v; time += dt
// Everything is float32, so t is accumulated with float32 rounding:
//   1.0, 0.9, 0.79999995, 0.6999999, 0.5999998, 0.49999976, ...  (10 steps)
// and the loop runs while the accumulated t passes the test (num_steps times for any
// practical num_steps). LeRobot's schedule (1 + k * dt in double) differs in the last ulp.
// create_sinusoidal_pos_embedding(t, W, min_period=4e-3, max_period=4.0) in float64:
//   fraction = linspace(0, 1, W/2)   torch's CPU/CUDA formula: i < n/2 ? i*step : 1-(n-1-i)*step
//   period   = 4e-3 * (4.0 / 4e-3) ** fraction
//   arg      = (1.0 / period * 2 * pi) * double(t)
//   emb      = [sin(arg) (W/2), cos(arg) (W/2)], then cast to float32
// The top frequency is ~1571 rad per unit t: a float32 argument or a different t
// would move the embedding by ~1e-4, so both are reproduced exactly.
#pragma once

#include <vector>

namespace vlart::pi0 {

// float32(-1.0 / num_steps).
float OpenpiDt(int num_steps);
// The t of every loop iteration, in order (float32 accumulation as openpi).
std::vector<float> OpenpiStepTimes(int num_steps);
// out[0, dim): the time embedding of t (dim even, >= 4).
void OpenpiTimeEmbedding(float t, int dim, float* out);

}  // namespace vlart::pi0
