// SPDX-License-Identifier: Apache-2.0
//
// segv_backtrace.c: an LD_PRELOAD helper for the device machine, which may have no gdb.
// On SIGSEGV / SIGBUS / SIGFPE / SIGABRT it prints the raw return addresses of the
// crashing thread (glibc backtrace) with each object's load base, so the offsets can be
// resolved on the dev machine with `addr2line -f -C -e <binary> <offset>` against the same
// build. Debug aid only; never linked into vlart.
//
//   cc -shared -fPIC -O1 -o /tmp/segv_backtrace.so tools/segv_backtrace.c
//   LD_PRELOAD=/tmp/segv_backtrace.so ./some_binary
#define _GNU_SOURCE
#include <dlfcn.h>
#include <execinfo.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void OnFatal(int sig) {
  void* frames[64];
  const int n = backtrace(frames, 64);
  fprintf(stderr, "\n*** fatal signal %d (%s); %d frames (object, offset in object):\n", sig,
          strsignal(sig), n);
  for (int i = 0; i < n; ++i) {
    Dl_info info;
    if (dladdr(frames[i], &info) && info.dli_fname) {
      fprintf(stderr, "  #%d %s +0x%lx (%s)\n", i, info.dli_fname,
              (unsigned long)((char*)frames[i] - (char*)info.dli_fbase),
              info.dli_sname ? info.dli_sname : "?");
    } else {
      fprintf(stderr, "  #%d %p\n", i, frames[i]);
    }
  }
  fflush(stderr);
  signal(sig, SIG_DFL);
  raise(sig);
}

__attribute__((constructor)) static void Install(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = OnFatal;
  sa.sa_flags = SA_RESETHAND;
  sigaction(SIGSEGV, &sa, 0);
  sigaction(SIGBUS, &sa, 0);
  sigaction(SIGFPE, &sa, 0);
  sigaction(SIGABRT, &sa, 0);
}
