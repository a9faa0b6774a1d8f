// SPDX-License-Identifier: Apache-2.0
//
// cmd_inspect.cc: `vlart inspect DIR`, what a checkpoint folder holds and whether the
// model named by its config.json can use it.
//
// Prints the files, tensor count, bytes per dtype and a table of tensors (`--json` for
// scripts). If config.json names a model_type with a registered weight-spec provider
// (runtime/model_registry.h), it also prints the weight report. Folders whose config.json
// has no model_type (openpi's pi0 checkpoints) or that have none are routed by their
// weight keys (runtime/model_detect.h: pi0 / pi05). Exit status: 0 when the
// files are valid (and, with a provider, the weights fit); 1 on any file, config or
// weight problem, with the message on stderr as "vlart inspect: <message>".

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "commands.h"
#include "io/checkpoint.h"
#include "io/json_config.h"
#include "io/weight_spec.h"
#include "runtime/model_detect.h"
#include "runtime/model_registry.h"

namespace vlart::cli {
namespace {

namespace fs = std::filesystem;

struct InspectOptions {
  std::string path;
  bool json = false;
  bool no_table = false;
};

// "812 B", "12.3 kB", "3.52 GB" (powers of 1000, as file sizes are usually quoted).
std::string HumanBytes(uint64_t bytes) {
  constexpr const char* kUnits[] = {"B", "kB", "MB", "GB", "TB"};
  double v = static_cast<double>(bytes);
  int unit = 0;
  while (v >= 1000.0 && unit < 4) {
    v /= 1000.0;
    ++unit;
  }
  return unit == 0 ? fmt::format("{} B", bytes) : fmt::format("{:.3g} {}", v, kUnits[unit]);
}

std::string JoinTypes(const std::vector<std::string>& types) {
  std::string s;
  for (const std::string& t : types) s += (s.empty() ? "" : ", ") + t;
  return s.empty() ? "none registered" : s;
}

nlohmann::json ShapeJson(const Shape& shape) {
  nlohmann::json a = nlohmann::json::array();
  for (const int64_t d : shape) a.push_back(d);
  return a;
}

nlohmann::json ReportJson(const WeightReport& r) {
  nlohmann::json j;
  j["usable"] = r.usable();
  j["expected"] = r.num_specs;
  j["matched"] = r.num_matched;
  auto missing = [](const std::vector<WeightReport::Missing>& v) {
    nlohmann::json a = nlohmann::json::array();
    for (const auto& m : v) a.push_back({{"name", m.name}, {"expected", ShapeJson(m.expected)}});
    return a;
  };
  j["missing_required"] = missing(r.missing_required);
  j["missing_optional"] = missing(r.missing_optional);
  j["shape_mismatches"] = nlohmann::json::array();
  for (const auto& m : r.shape_mismatches) {
    j["shape_mismatches"].push_back({{"name", m.name},
                                     {"expected", ShapeJson(m.expected)},
                                     {"got", ShapeJson(m.got)},
                                     {"file", m.file}});
  }
  j["dtype_problems"] = nlohmann::json::array();
  for (const auto& p : r.dtype_problems) {
    j["dtype_problems"].push_back(
        {{"name", p.name}, {"got", std::string(DTypeName(p.got))}, {"file", p.file}});
  }
  j["unexpected"] = r.unexpected;
  return j;
}

void PrintJson(const nlohmann::json& j) {
  std::printf("%s\n", j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
}

int Fail(const InspectOptions& o, const Status& st) {
  if (o.json) PrintJson({{"ok", false}, {"error", st.message()}});
  std::fprintf(stderr, "vlart inspect: %s\n", st.message().c_str());
  return 1;
}

// The model type a folder's weights say (pi0 / pi05), when config.json names none.
std::optional<std::string> TypeByWeights(const std::string& path) {
  Result<DetectedModel> m = DetectModelType(path);
  if (m.ok() && m->how == "weight keys") return m->type;
  return std::nullopt;
}

int RunInspect(const InspectOptions& o) {
  RegisterBuiltinWeightSpecProviders();
  Result<std::unique_ptr<Checkpoint>> opened = Checkpoint::Open(o.path);
  if (!opened.ok()) return Fail(o, opened.status());
  const Checkpoint& ckpt = **opened;

  // Model type from config.json, only when inspecting a folder.
  std::optional<std::string> model_type;
  std::string model_note;
  const fs::path config_path = fs::path(o.path) / "config.json";
  std::error_code ec;
  if (!fs::is_directory(o.path, ec)) {
    model_note = "a single file: model not checked";
  } else if (!fs::exists(config_path, ec)) {
    model_type = TypeByWeights(o.path);
    if (model_type) {
      model_note = fmt::format("no config.json; model type '{}' from the weight keys", *model_type);
    } else {
      model_note = "no config.json: model not checked";
    }
  } else {
    Result<JsonDocument> config = ReadJsonFile(config_path);
    if (!config.ok()) return Fail(o, config.status());
    Result<std::string> type = GetString(*config, "model_type", "");
    if (!type.ok()) return Fail(o, type.status());
    if (type->empty()) {
      model_type = TypeByWeights(o.path);
      model_note = model_type ? fmt::format("config.json has no model_type; model type '{}' from "
                                            "the weight keys",
                                            *model_type)
                              : "config.json has no model_type: model not checked";
    } else {
      model_type = *type;
    }
  }
  std::optional<WeightReport> report;
  if (model_type) {
    const WeightSpecProvider* provider = FindWeightSpecProvider(*model_type);
    if (provider == nullptr) {
      model_note =
          fmt::format("no model spec is known for model_type '{}' (known: {}): model not checked",
                      *model_type, JoinTypes(RegisteredModelTypes()));
    } else {
      Result<std::vector<WeightSpec>> specs = (*provider)(ckpt.dir());
      if (!specs.ok()) return Fail(o, specs.status());
      report = CheckWeights(ckpt, *specs);
    }
  }
  const int exit_code = (report && !report->usable()) ? 1 : 0;

  struct Totals {
    uint64_t tensors = 0;
    uint64_t bytes = 0;
  };
  std::map<std::string, Totals> by_file;
  std::map<std::string, Totals> by_dtype;
  Totals all;
  size_t name_width = 4;
  size_t shape_width = 2;
  for (const std::string& name : ckpt.Names()) {
    const TensorInfo& t = *ckpt.Find(name);
    shape_width = std::max(shape_width, t.shape.ToString().size());
    for (Totals* tot :
         {&by_file[ckpt.FileNameOf(name)], &by_dtype[std::string(DTypeName(t.dtype))], &all}) {
      ++tot->tensors;
      tot->bytes += t.nbytes;
    }
    name_width = std::max(name_width, name.size());
  }

  if (o.json) {
    nlohmann::json j;
    j["ok"] = exit_code == 0;
    j["path"] = o.path;
    j["sharded"] = ckpt.sharded();
    j["tensor_count"] = all.tensors;
    j["total_bytes"] = all.bytes;
    j["files"] = nlohmann::json::array();
    for (const auto& f : ckpt.files()) {
      const std::string name = fs::path(f->label()).filename().string();
      j["files"].push_back({{"name", name},
                            {"file_bytes", f->file_size()},
                            {"tensors", by_file[name].tensors},
                            {"tensor_bytes", by_file[name].bytes},
                            {"metadata", f->metadata()}});
    }
    j["dtypes"] = nlohmann::json::object();
    for (const auto& [dtype, tot] : by_dtype)
      j["dtypes"][dtype] = {{"tensors", tot.tensors}, {"bytes", tot.bytes}};
    if (!o.no_table) {
      j["tensors"] = nlohmann::json::array();
      for (const std::string& name : ckpt.Names()) {
        const TensorInfo& t = *ckpt.Find(name);
        j["tensors"].push_back({{"name", name},
                                {"dtype", std::string(DTypeName(t.dtype))},
                                {"shape", ShapeJson(t.shape)},
                                {"bytes", t.nbytes},
                                {"file", ckpt.FileNameOf(name)}});
      }
    }
    j["model_type"] = model_type ? nlohmann::json(*model_type) : nlohmann::json(nullptr);
    j["model_note"] = model_note;
    j["weights"] = report ? ReportJson(*report) : nlohmann::json(nullptr);
    PrintJson(j);
  } else {
    std::printf("checkpoint %s: %zu file%s, %llu tensors, %s\n", o.path.c_str(),
                ckpt.files().size(), ckpt.files().size() == 1 ? "" : "s",
                static_cast<unsigned long long>(all.tensors), HumanBytes(all.bytes).c_str());
    for (const auto& f : ckpt.files()) {
      const std::string name = fs::path(f->label()).filename().string();
      std::printf("  %s: %llu tensors, %s (%zu bytes)\n", name.c_str(),
                  static_cast<unsigned long long>(by_file[name].tensors),
                  HumanBytes(f->file_size()).c_str(), f->file_size());
    }
    std::printf("by dtype:\n");
    for (const auto& [dtype, tot] : by_dtype) {
      std::printf("  %-8s %6llu tensors  %s (%llu bytes)\n", dtype.c_str(),
                  static_cast<unsigned long long>(tot.tensors), HumanBytes(tot.bytes).c_str(),
                  static_cast<unsigned long long>(tot.bytes));
    }
    if (!o.no_table) {
      std::printf("tensors:\n");
      for (const std::string& name : ckpt.Names()) {
        const TensorInfo& t = *ckpt.Find(name);
        std::string line = fmt::format("  {:<{}}  {:<8} {}", name, name_width, DTypeName(t.dtype),
                                       t.shape.ToString());
        if (ckpt.sharded()) {
          line +=
              std::string(shape_width - t.shape.ToString().size() + 2, ' ') + ckpt.FileNameOf(name);
        }
        std::printf("%s\n", line.c_str());
      }
    }
    if (model_type && model_note.empty()) {
      std::printf("config.json: model_type '%s'\n", model_type->c_str());
    } else if (model_type) {
      std::printf("%s\n", model_note.c_str());
    }
    if (report) {
      std::printf("%s", FormatReport(*report, 50).c_str());
      std::printf("%s\n", report->usable() ? "weights: usable" : "weights: NOT usable");
    } else {
      std::printf("%s; the checkpoint files are valid\n", model_note.c_str());
    }
  }
  if (report && !report->usable()) {
    std::fprintf(stderr, "vlart inspect: %s\n", report->ToStatus().message().c_str());
  }
  return exit_code;
}

}  // namespace

void AddInspectCommand(CLI::App& app, int* exit_code) {
  auto opts = std::make_shared<InspectOptions>();
  CLI::App* sub = app.add_subcommand(
      "inspect",
      "Validate a checkpoint folder and list its tensors (and check them against the model)");
  sub->add_option("path", opts->path, "Checkpoint folder (or a .safetensors file)")->required();
  sub->add_flag("--json", opts->json, "Print one JSON object instead of text");
  sub->add_flag("--no-table", opts->no_table, "Leave out the per-tensor table");
  sub->callback([opts, exit_code] { *exit_code = RunInspect(*opts); });
}

}  // namespace vlart::cli
