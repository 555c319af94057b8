// mpshare GPU probe: one MPS client, as a pod's container would be.
//
// Reports, as one JSON line on stdout, what its CUDA context sees under the MPS
// limits in its environment (SM count, free/total memory), whether allocations
// inside and beyond a memory limit succeed, and how long a fixed amount of
// half-precision matrix work takes.
//
// Example:
//   CUDA_MPS_ACTIVE_THREAD_PERCENTAGE=30 CUDA_MPS_PINNED_DEVICE_MEM_LIMIT=0=4096M \
//     ./mpshare-gpu-probe --name infer-medium --limit-mib 4096 --units 6 --wait-go
//
// With --wait-go the probe prints "READY" once its context, cuBLAS and buffers are
// warm, then blocks until a line arrives on stdin, so that a driver can start the
// work of several clients at the same instant and compare their finish times.
//
// Built on the GPU machine with: nvcc -O2 -std=c++17 -arch=sm_90 probe.cu -lcublas

#include <cublas_v2.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

namespace {

struct Options {
  std::string name = "probe";
  long long limit_mib = 0;  // the memory limit the client was meant to get; 0 = none
  int units = 0;            // units of matrix work; 0 = no work phase
  int gemms_per_unit = 200;
  int n = 4096;
  bool wait_go = false;
};

struct AllocTry {
  std::string label;
  long long mib;
  bool ok;
  std::string error;
};

double nowSeconds() {
  using std::chrono::duration;
  using std::chrono::system_clock;
  return duration<double>(system_clock::now().time_since_epoch()).count();
}

std::string jsonEscape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

const char* envOrEmpty(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? "" : v;
}

// Every probe result starts with who it is and which MPS env it ran under, so a
// result can be matched to its pod without trusting the driver's bookkeeping.
void printHeader(std::ostringstream& js, const Options& opt) {
  js << "{\"name\":\"" << jsonEscape(opt.name) << "\",\"pid\":" << getpid()
     << ",\"env\":{\"CUDA_MPS_ACTIVE_THREAD_PERCENTAGE\":\""
     << jsonEscape(envOrEmpty("CUDA_MPS_ACTIVE_THREAD_PERCENTAGE"))
     << "\",\"CUDA_MPS_PINNED_DEVICE_MEM_LIMIT\":\""
     << jsonEscape(envOrEmpty("CUDA_MPS_PINNED_DEVICE_MEM_LIMIT")) << "\"}";
}

// Tries one allocation of `mib` MiB and frees it again. An out-of-memory error is
// not sticky in CUDA, so the context stays usable for the next try.
AllocTry tryAlloc(const std::string& label, long long mib) {
  void* p = nullptr;
  cudaError_t err = cudaMalloc(&p, static_cast<size_t>(mib) << 20);
  AllocTry t{label, mib, err == cudaSuccess, err == cudaSuccess ? "" : cudaGetErrorName(err)};
  if (p != nullptr) cudaFree(p);
  cudaGetLastError();
  return t;
}

bool parseArgs(int argc, char** argv, Options& opt) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&](const char* what) -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "probe: %s needs a value\n", what);
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--name") {
      opt.name = next("--name");
    } else if (a == "--limit-mib") {
      opt.limit_mib = std::atoll(next("--limit-mib"));
    } else if (a == "--units") {
      opt.units = std::atoi(next("--units"));
    } else if (a == "--gemms-per-unit") {
      opt.gemms_per_unit = std::atoi(next("--gemms-per-unit"));
    } else if (a == "--n") {
      opt.n = std::atoi(next("--n"));
    } else if (a == "--wait-go") {
      opt.wait_go = true;
    } else {
      std::fprintf(stderr,
                   "probe: unknown argument '%s'; allowed: --name S --limit-mib N --units N "
                   "--gemms-per-unit N --n N --wait-go\n",
                   a.c_str());
      return false;
    }
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  if (!parseArgs(argc, argv, opt)) return 2;
  std::ostringstream js;
  printHeader(js, opt);

  // Context creation is where MPS applies (or rejects) the client's limits.
  double t_ctx = nowSeconds();
  cudaError_t err = cudaFree(nullptr);
  if (err != cudaSuccess) {
    js << ",\"context_ok\":false,\"context_error\":\"" << cudaGetErrorName(err) << ": "
       << jsonEscape(cudaGetErrorString(err)) << "\"}";
    if (opt.wait_go) std::cout << "READY" << std::endl;
    std::cout << js.str() << std::endl;
    return 3;
  }
  int sms = 0;
  cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, 0);
  cudaDeviceProp prop{};
  cudaGetDeviceProperties(&prop, 0);
  size_t free_b = 0, total_b = 0;
  cudaMemGetInfo(&free_b, &total_b);
  long long free_mib = static_cast<long long>(free_b >> 20);
  long long total_mib = static_cast<long long>(total_b >> 20);
  js << ",\"context_ok\":true,\"context_s\":" << (nowSeconds() - t_ctx) << ",\"device\":\""
     << jsonEscape(prop.name) << "\",\"sms\":" << sms << ",\"free_mib\":" << free_mib
     << ",\"total_mib\":" << total_mib;

  // Allocation tries around the cap: what is left after the context must fit
  // (less a small margin for allocator granularity), the cap itself must not.
  if (opt.limit_mib > 0) {
    std::vector<AllocTry> tries;
    long long inside = std::min(free_mib, opt.limit_mib) - 64;
    if (inside > 0) tries.push_back(tryAlloc("inside", inside));
    tries.push_back(tryAlloc("at_limit", opt.limit_mib));
    tries.push_back(tryAlloc("beyond", opt.limit_mib + 1024));
    js << ",\"limit_mib\":" << opt.limit_mib << ",\"allocs\":[";
    for (size_t i = 0; i < tries.size(); ++i) {
      js << (i ? "," : "") << "{\"label\":\"" << tries[i].label << "\",\"mib\":" << tries[i].mib
         << ",\"ok\":" << (tries[i].ok ? "true" : "false") << ",\"error\":\"" << tries[i].error
         << "\"}";
    }
    js << "]";
  }

  if (opt.units > 0) {
    const int n = opt.n;
    const size_t elems = static_cast<size_t>(n) * n;
    __half *a = nullptr, *b = nullptr, *c = nullptr;
    cublasHandle_t h = nullptr;
    bool ok = cudaMalloc(&a, elems * sizeof(__half)) == cudaSuccess &&
              cudaMalloc(&b, elems * sizeof(__half)) == cudaSuccess &&
              cudaMalloc(&c, elems * sizeof(__half)) == cudaSuccess &&
              cublasCreate(&h) == CUBLAS_STATUS_SUCCESS;
    if (ok) {
      // Small values keep fp16 results finite; the content does not matter.
      cudaMemset(a, 0x11, elems * sizeof(__half));
      cudaMemset(b, 0x11, elems * sizeof(__half));
    }
    const float alpha = 1.0f, beta = 0.0f;
    auto gemm = [&]() {
      return cublasGemmEx(h, CUBLAS_OP_N, CUBLAS_OP_N, n, n, n, &alpha, a, CUDA_R_16F, n, b,
                          CUDA_R_16F, n, &beta, c, CUDA_R_16F, n, CUBLAS_COMPUTE_32F,
                          CUBLAS_GEMM_DEFAULT);
    };
    for (int i = 0; ok && i < 5; ++i) ok = gemm() == CUBLAS_STATUS_SUCCESS;
    ok = ok && cudaDeviceSynchronize() == cudaSuccess;
    if (opt.wait_go) {
      std::cout << "READY" << std::endl;
      std::string line;
      std::getline(std::cin, line);
    }
    double start = nowSeconds();
    const long long gemms = static_cast<long long>(opt.units) * opt.gemms_per_unit;
    for (long long i = 0; ok && i < gemms; ++i) ok = gemm() == CUBLAS_STATUS_SUCCESS;
    ok = ok && cudaDeviceSynchronize() == cudaSuccess;
    double end = nowSeconds();
    double flops = 2.0 * n * static_cast<double>(n) * n * static_cast<double>(gemms);
    js << ",\"work\":{\"ok\":" << (ok ? "true" : "false") << ",\"units\":" << opt.units
       << ",\"gemms\":" << gemms << ",\"n\":" << n << ",\"start\":" << std::fixed
       << start << ",\"end\":" << end << ",\"elapsed_s\":" << (end - start)
       << ",\"tflops\":" << (ok ? flops / (end - start) / 1e12 : 0.0);
    if (!ok) js << ",\"error\":\"" << cudaGetErrorName(cudaGetLastError()) << "\"";
    js << "}";
    if (h != nullptr) cublasDestroy(h);
    cudaFree(a);
    cudaFree(b);
    cudaFree(c);
  } else if (opt.wait_go) {
    std::cout << "READY" << std::endl;
    std::string line;
    std::getline(std::cin, line);
  }
  js << "}";
  std::cout << js.str() << std::endl;
  return 0;
}
