// SPDX-License-Identifier: Apache-2.0
//
// cmd_bench.cc: `vlart bench`: per-stage and end-to-end latency of a policy, llama-bench style.
//
//   vlart bench --model DIR --device cuda [--precision bf16|fp16|fp32] [--steps 10]
//               [--batch 1,4,8] [--warmup 10] [--iters 100] [--format md|csv|json]
//
// Timed region of one call (printed with the table): Policy::ActBatch on a fixed
// synthetic LIBERO-style observation matching the model type (BenchObservation):
//   X-VLA:  two 256x256 views + the empty third slot, a LIBERO instruction padded to 50
//           tokens, 20-d proprio, domain 3;
//   pi0/pi0.5: two 224x224 views (the bundled 256x256 views through openpi's client
//           resize_with_pad, as LIBERO clients send them; the third slot masked), the
//           8-d LIBERO state, a LIBERO instruction;
// i.e. host preprocessing (resize, tokenise, noise; the views' normalisation is the
// forward's first op since the policies upload bytes, or on the host with
// VLART_DEVICE_PIXELS=0), input upload, the whole forward (one CUDA-graph replay on
// CUDA), the action download and (pi0) the float64
// output transforms. Not timed: model load, image file decoding, and
// the warm-up calls (the first call of a shape plans buffers and records the graph).
// Stage times are timestamps on the backend's stream (device time on CUDA, host time
// on the CPU); e2e is host wall clock, what a robot sees. Every list-valued option is
// swept as a cartesian product, one row per configuration.

#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <map>

#include "bench_stats.h"
#include "cli_util.h"
#include "commands.h"
#include "image/decode.h"
#include "image/resize_with_pad.h"
#include "models/common/view_upload.h"
#include "ops/backend.h"
#include "runtime/backend_factory.h"
#include "runtime/build_info.h"
#include "text/embedded_assets.h"
#include "vlart/policy.h"

namespace vlart::cli {
namespace {

struct BenchArgs {
  std::string model;
  std::string device = "cuda";
  std::string precision;
  std::string steps = "10";
  std::string batch = "1";
  int warmup = 10;
  int iters = 100;
  std::string format = "md";
  std::string tokenizer;
  bool no_graphs = false;
  std::string tuning_cache;
  bool profile_ops = false;
};

struct Row {
  std::string precision;
  int batch = 0, steps = 0;
  std::map<std::string, SampleStats> stats;  // per stage name, plus "e2e"
  std::vector<std::string> stage_order;
  double peak_mib = 0;
  // Host wall clock of the row's first call, in seconds: on CUDA it times the kernels of new
  // shapes and records the call's graph (unless the tuning cache had the picks).
  double first_call_s = 0;
};

Result<std::vector<int>> IntList(const std::string& text, const std::string& flag) {
  VLART_ASSIGN_OR_RETURN(const std::vector<double> v, ParseNumberList(text, flag));
  std::vector<int> out;
  for (double x : v) {
    if (x < 1 || x > 4096 || x != static_cast<int>(x)) {
      return InvalidArgument("{}: expected positive integers, got {}", flag, x);
    }
    out.push_back(static_cast<int>(x));
  }
  return out;
}

// The bench's observation for `model_type` (Policy::model_type()).
Result<Observation> BenchObservation(const std::string& model_type) {
  const bool pi0 = model_type == "pi0" || model_type == "pi05";
  Observation o;
  for (const char* name : {"demo/agentview.png", "demo/wrist.png"}) {
    const auto bytes = EmbeddedAsset(name);
    VLART_ASSIGN_OR_RETURN(Image img, DecodeImageBytes(bytes, name));
    if (pi0) {
      // LIBERO clients send 224x224 (openpi's image_tools.resize_with_pad on the client).
      VLART_ASSIGN_OR_RETURN(img, ResizeWithPad(img.view(), 224, 224));
    }
    o.images.push_back(std::move(img));
  }
  o.prompt = "put both the alphabet soup and the tomato sauce in the basket";
  if (pi0) {
    // LIBERO's state: eef position, axis-angle, two gripper joints.
    o.state = {-0.05, 0.03, 0.78, 2.97, -0.09, -0.11, 0.026, -0.026};
    return o;
  }
  o.state.assign(20, 0.0);
  o.state[3] = 1.0;
  o.state[7] = 1.0;
  o.domain_id = 3;
  return o;
}

Result<Row> BenchOne(Policy& policy, const Observation& obs, int batch, int steps,
                     const BenchArgs& a) {
  const std::vector<Observation> observations(batch, obs);
  Row row;
  row.batch = batch;
  row.steps = steps;
  std::map<std::string, std::vector<double>> samples;
  for (int i = 0; i < a.warmup + a.iters; ++i) {
    CallTimings t;
    ActOptions ao;
    ao.steps = steps;
    ao.seed = static_cast<uint64_t>(i);
    ao.timings = &t;
    const auto start = std::chrono::steady_clock::now();
    VLART_ASSIGN_OR_RETURN(const auto chunks, policy.ActBatch(observations, ao));
    if (i == 0) {
      row.first_call_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    }
    if (i < a.warmup) continue;
    if (row.stage_order.empty()) {
      row.stage_order.push_back("preprocess");
      row.stage_order.push_back("upload");
      for (const auto& [name, ms] : t.stages) row.stage_order.push_back(name);
      row.stage_order.push_back("download");
      row.stage_order.push_back("e2e");
    }
    samples["preprocess"].push_back(t.preprocess_ms);
    samples["upload"].push_back(t.upload_ms);
    for (const auto& [name, ms] : t.stages) samples[name].push_back(ms);
    samples["download"].push_back(t.download_ms);
    samples["e2e"].push_back(t.total_ms);
  }
  for (auto& [name, v] : samples) row.stats[name] = Summarize(v);
  row.peak_mib = static_cast<double>(policy.backend().bytes_in_use()) / (1024.0 * 1024.0);
  return row;
}

void PrintMarkdown(const std::vector<Row>& rows) {
  std::printf("| precision | batch | steps | stage | median ms | p90 | p99 | mean +- sd | Hz (e2e) | device MiB |\n");
  std::printf("|---|---:|---:|---|---:|---:|---:|---:|---:|---:|\n");
  for (const Row& r : rows) {
    for (const std::string& name : r.stage_order) {
      const SampleStats& s = r.stats.at(name);
      const bool e2e = name == "e2e";
      std::printf("| %s | %d | %d | %s%s%s | %.3f | %.3f | %.3f | %.3f +- %.3f | %s | %s |\n",
                  r.precision.c_str(), r.batch, r.steps, e2e ? "**" : "", name.c_str(),
                  e2e ? "**" : "", s.median, s.p90, s.p99, s.mean, s.sd,
                  e2e ? fmt::format("{:.1f}", 1000.0 / s.median).c_str() : "",
                  e2e ? fmt::format("{:.0f}", r.peak_mib).c_str() : "");
    }
  }
}

void PrintCsv(const std::vector<Row>& rows) {
  std::printf("precision,batch,steps,stage,n,median_ms,p90_ms,p99_ms,mean_ms,sd_ms,hz,device_mib\n");
  for (const Row& r : rows) {
    for (const std::string& name : r.stage_order) {
      const SampleStats& s = r.stats.at(name);
      std::printf("%s,%d,%d,%s,%d,%.4f,%.4f,%.4f,%.4f,%.4f,%.2f,%.0f\n", r.precision.c_str(),
                  r.batch, r.steps, name.c_str(), s.n, s.median, s.p90, s.p99, s.mean, s.sd,
                  name == "e2e" ? 1000.0 / s.median : 0.0, r.peak_mib);
    }
  }
}

void PrintJson(const std::vector<Row>& rows, const std::string& header) {
  std::printf("{\n  \"header\": \"%s\",\n  \"rows\": [", header.c_str());
  for (size_t i = 0; i < rows.size(); ++i) {
    const Row& r = rows[i];
    std::printf("%s\n    {\"precision\": \"%s\", \"batch\": %d, \"steps\": %d, \"device_mib\": %.0f, \"stages\": {",
                i ? "," : "", r.precision.c_str(), r.batch, r.steps, r.peak_mib);
    for (size_t j = 0; j < r.stage_order.size(); ++j) {
      const SampleStats& s = r.stats.at(r.stage_order[j]);
      std::printf("%s\"%s\": {\"n\": %d, \"median_ms\": %.4f, \"p90_ms\": %.4f, \"p99_ms\": %.4f, "
                  "\"mean_ms\": %.4f, \"sd_ms\": %.4f}",
                  j ? ", " : "", r.stage_order[j].c_str(), s.n, s.median, s.p90, s.p99, s.mean, s.sd);
    }
    std::printf("}}");
  }
  std::printf("\n  ]\n}\n");
}

int Bench(const BenchArgs& a) {
  auto batches = IntList(a.batch, "--batch");
  if (!batches.ok()) return Fail("bench", batches.status());
  auto steps = IntList(a.steps, "--steps");
  if (!steps.ok()) return Fail("bench", steps.status());
  if (a.format != "md" && a.format != "csv" && a.format != "json") {
    return Fail("bench", InvalidArgument("--format: expected md, csv or json, got '{}'", a.format));
  }
  std::vector<std::string> precisions;
  for (size_t pos = 0;;) {
    const size_t comma = a.precision.find(',', pos);
    precisions.push_back(a.precision.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos));
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  std::vector<Row> rows;
  std::string header;
  for (const std::string& precision : precisions) {
    PolicyOptions po;
    po.device = a.device;
    po.precision = precision;
    po.cuda_graphs = !a.no_graphs;
    po.tuning_cache = TuningCachePath(a.tuning_cache);
    po.profile_ops = a.profile_ops ? 20000 : 0;
    po.tokenizer = a.tokenizer;
    const auto load_start = std::chrono::steady_clock::now();
    auto policy = Policy::Load(a.model, po);
    if (!policy.ok()) return Fail("bench", policy.status());
    const std::string label = precision.empty() ? (a.device == "cpu" ? "f32" : "bf16") : precision;
    std::fprintf(stderr, "bench: %s load %.2f s\n", label.c_str(),
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - load_start).count());
    auto obs = BenchObservation((*policy)->model_type());
    if (!obs.ok()) return Fail("bench", obs.status());
    if (header.empty()) {
      const bool pi0 = (*policy)->model_type() != "xvla";
      // The policies hand the views over as bytes (normalised by the forward's first op, in
      // the vision stage; X-VLA's camera bytes resized on the device first) unless
      // VLART_DEVICE_RESIZE=0 / VLART_DEVICE_PIXELS=0 (models/common/view_upload.h).
      const ImageForm form = PolicyImageForm();
      const bool bytes = form != ImageForm::kPlanes;
      const bool camera = !pi0 && form == ImageForm::kSourcePixels;
      const std::string size = obs->images.empty()
                                   ? std::string("?")
                                   : fmt::format("{}x{}", obs->images[0].height, obs->images[0].width);
      header = fmt::format(
          "{} | {} | {} | {} | warmup {} + {} timed calls | graphs {} | tuning cache {} | timed: preprocess ({}, "
          "tokenise, noise) + upload + forward{} + download{}; stages = timestamps on the "
          "backend stream; e2e = host wall clock",
          BuildInfoString(), DescribeDevice((*policy)->backend()), (*policy)->description(),
          a.model, a.warmup, a.iters, a.no_graphs ? "off" : "on",
          EffectiveTuningCache(po),
          pi0      ? (bytes ? fmt::format("copy 2 views of {} bytes, normalise state", size)
                            : fmt::format("normalise 2 views of {}, normalise state", size))
          : camera ? fmt::format("copy 2 camera views of {} bytes", size)
          : bytes  ? fmt::format("resize 2 views of {} to bytes", size)
                   : fmt::format("resize + normalise 2 views of {}", size),
          camera  ? " (resizing, then normalising the views' bytes first)"
          : bytes ? " (normalising the views' bytes first)"
                  : "",
          pi0 ? " + float64 output transforms" : "");
    }
    for (int b : *batches) {
      for (int s : *steps) {
        auto row = BenchOne(**policy, *obs, b, s, a);
        if (!row.ok()) return Fail("bench", row.status());
        row->precision = label;
        rows.push_back(std::move(row).value());
        std::fprintf(stderr, "bench: %s batch %d steps %d: e2e median %.3f ms (first call %.2f s%s)\n",
                     rows.back().precision.c_str(), b, s, rows.back().stats.at("e2e").median,
                     rows.back().first_call_s,
                     a.device == "cpu" ? "" : ": kernel tuning and graph recording for new shapes");
        if (a.profile_ops) {
          auto report = (*policy)->ProfileReport();
          if (!report.ok()) return Fail("bench", report.status());
          std::fprintf(stderr, "\nop profile (%s, batch %d, steps %d; marks make the call slower "
                       "than the timed rows):\n%s\n", rows.back().precision.c_str(), b, s,
                       report->c_str());
        }
      }
    }
  }
  if (a.format == "json") {
    PrintJson(rows, header);
    return 0;
  }
  std::printf("%s\n\n", header.c_str());
  if (a.format == "csv") {
    PrintCsv(rows);
  } else {
    PrintMarkdown(rows);
  }
  return 0;
}

}  // namespace

void AddBenchCommand(CLI::App& app, int* exit_code) {
  auto args = std::make_shared<BenchArgs>();
  CLI::App* sub = app.add_subcommand("bench", "Per-stage and end-to-end latency of a policy");
  sub->add_option("--model", args->model, "Checkpoint folder")->required();
  sub->add_option("--device", args->device, "cpu, cuda or cuda:N");
  sub->add_option("--precision", args->precision, "f32, bf16, f16, or a list (bf16,f32)");
  sub->add_option("--steps", args->steps, "Denoising steps, or a list (5,10)");
  sub->add_option("--batch", args->batch, "Batch sizes (robots per call), or a list (1,4,8)");
  sub->add_option("--warmup", args->warmup, "Untimed calls per configuration")->check(CLI::Range(1, 100000));
  sub->add_option("--iters", args->iters, "Timed calls per configuration")->check(CLI::Range(1, 1000000));
  sub->add_option("--format", args->format, "md, csv or json");
  sub->add_option("--tokenizer", args->tokenizer, "pi0/pi0.5: the PaliGemma tokenizer.model");
  sub->add_flag("--no-graphs", args->no_graphs, "Run ops eagerly instead of replaying CUDA graphs");
  AddTuningCacheOption(sub, &args->tuning_cache);
  sub->add_flag("--profile-ops", args->profile_ops,
                "Also time every op inside the call (printed to stderr; adds event nodes)");
  sub->callback([args, exit_code] { *exit_code = Bench(*args); });
}

}  // namespace vlart::cli
