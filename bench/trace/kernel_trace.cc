// SPDX-License-Identifier: Apache-2.0
//
// kernel_trace.cc: a CUPTI injection library that records every kernel's device start and end
// timestamps, graph kernels included, and writes them as CSV when the process exits. It is
// how we see where a forward's time goes *inside* its CUDA graphs, with PDL overlap and launch
// gaps as they really are: `vlart bench --profile-ops` brackets every op with timestamps (the
// marks add ~4-5 us per op) and Nsight Compute serialises kernels with cold caches; Nsight
// Systems does not run on our GPU machines (device/KINDS.md). CUPTI's concurrent-kernel
// activity does not serialise kernels; it adds a few hundred ns of driver work per launch on
// the host, none inside a replayed graph.
//
// Use: CUDA_INJECTION64_PATH=/path/libvlart_kernel_trace.so VLART_KERNEL_TRACE=out.csv
//      vlart bench ...        (the CUDA driver loads the library and calls InitializeInjection)
// then bench/trace/kernel_trace_report.py out.csv attributes one forward's timeline to kernels.
//
// CSV columns: start_ns,end_ns,correlation,graph_id,grid_x,grid_y,grid_z,block_x,cluster_x,name
// (start/end in the device's ns clock; correlation ties a kernel to its API call: every kernel
// of one cudaGraphLaunch shares it; graph_id is 0 for kernels launched outside a graph; name
// is demangled, commas replaced by ';'). Records land in CUPTI's buffers while the program
// runs and are written at exit (atexit flush), so nothing is printed mid-run.

#include <cupti.h>
#include <cxxabi.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace {

struct KernelRecord {
  uint64_t start, end;
  uint32_t correlation, graph_id;
  int32_t grid_x, grid_y, grid_z, block_x;
  uint32_t cluster_x;
  const std::string* name;  // demangled, in g_names
};

std::mutex g_mu;
// Leaked on purpose: used from atexit. CUPTI's name pointer is the same for every launch of a
// function, so each name is demangled once, not once per record.
std::vector<KernelRecord>* g_records = nullptr;
std::unordered_map<const char*, std::string>* g_names = nullptr;
constexpr size_t kBufferBytes = 8u << 20;
constexpr size_t kAlign = 8;

std::string Demangle(const char* mangled) {
  if (mangled == nullptr) return "?";
  int status = 0;
  char* d = abi::__cxa_demangle(mangled, nullptr, nullptr, &status);
  std::string out = (status == 0 && d != nullptr) ? d : mangled;
  std::free(d);
  for (char& c : out) {
    if (c == ',' || c == '\n') c = ';';
  }
  return out;
}

void CUPTIAPI BufferRequested(uint8_t** buffer, size_t* size, size_t* max_records) {
  void* p = nullptr;
  if (posix_memalign(&p, kAlign, kBufferBytes) != 0) p = nullptr;
  *buffer = static_cast<uint8_t*>(p);
  *size = p != nullptr ? kBufferBytes : 0;
  *max_records = 0;
}

void CUPTIAPI BufferCompleted(CUcontext, uint32_t, uint8_t* buffer, size_t, size_t valid) {
  CUpti_Activity* rec = nullptr;
  std::lock_guard<std::mutex> lock(g_mu);
  while (cuptiActivityGetNextRecord(buffer, valid, &rec) == CUPTI_SUCCESS) {
    if (rec->kind != CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL && rec->kind != CUPTI_ACTIVITY_KIND_KERNEL) continue;
    const auto* k = reinterpret_cast<const CUpti_ActivityKernel10*>(rec);
    auto [it, added] = g_names->try_emplace(k->name);
    if (added) it->second = Demangle(k->name);
    g_records->push_back({k->start, k->end, k->correlationId, k->graphId, k->gridX, k->gridY, k->gridZ,
                          k->blockX, k->clusterX, &it->second});
  }
  std::free(buffer);
}

void WriteCsv() {
  cuptiActivityFlushAll(CUPTI_ACTIVITY_FLAG_FLUSH_FORCED);
  const char* path = std::getenv("VLART_KERNEL_TRACE");
  if (path == nullptr || *path == '\0') path = "kernel_trace.csv";
  FILE* f = std::fopen(path, "w");
  if (f == nullptr) {
    std::fprintf(stderr, "kernel_trace: cannot write %s\n", path);
    return;
  }
  std::lock_guard<std::mutex> lock(g_mu);
  std::fprintf(f, "start_ns,end_ns,correlation,graph_id,grid_x,grid_y,grid_z,block_x,cluster_x,name\n");
  for (const KernelRecord& r : *g_records) {
    std::fprintf(f, "%llu,%llu,%u,%u,%d,%d,%d,%d,%u,%s\n", static_cast<unsigned long long>(r.start),
                 static_cast<unsigned long long>(r.end), r.correlation, r.graph_id, r.grid_x, r.grid_y, r.grid_z,
                 r.block_x, r.cluster_x, r.name->c_str());
  }
  std::fclose(f);
  std::fprintf(stderr, "kernel_trace: %zu kernels -> %s\n", g_records->size(), path);
}

}  // namespace

// Called by the CUDA driver when CUDA_INJECTION64_PATH names this library.
extern "C" __attribute__((visibility("default"))) int InitializeInjection() {
  g_records = new std::vector<KernelRecord>();
  g_records->reserve(1 << 18);  // a traced bench run: ~80-160 thousand kernels
  g_names = new std::unordered_map<const char*, std::string>();
  if (cuptiActivityRegisterCallbacks(BufferRequested, BufferCompleted) != CUPTI_SUCCESS ||
      cuptiActivityEnable(CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL) != CUPTI_SUCCESS) {
    std::fprintf(stderr, "kernel_trace: CUPTI activity tracing could not be enabled\n");
    return 0;
  }
  std::atexit(WriteCsv);
  return 1;
}
