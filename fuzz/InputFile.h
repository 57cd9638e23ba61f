//===- InputFile.h - A fuzz input as a file ---------------------*- C++ -*-===//
//
// The ONNX importer and mfc-run's readers take paths: each input is written to
// the same file in a directory of the process's own, removed at exit.
//
//===----------------------------------------------------------------------===//

#ifndef MFC_FUZZ_INPUTFILE_H
#define MFC_FUZZ_INPUTFILE_H

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <unistd.h>

namespace mfc::fuzz {

/// Writes the input to `<dir>/<name>` and returns that path.
inline const std::string &writeInputFile(const uint8_t *data, size_t size,
                                         const char *name) {
  static std::string dir, path;
  if (path.empty()) {
    const char *tmp = std::getenv("TMPDIR");
    dir = std::string(tmp && *tmp ? tmp : "/tmp") + "/mfc-fuzz-XXXXXX";
    if (!mkdtemp(dir.data())) {
      std::perror("mkdtemp");
      std::abort();
    }
    path = dir + "/" + name;
    std::atexit([] {
      std::remove(path.c_str());
      rmdir(dir.c_str());
    });
  }
  FILE *f = std::fopen(path.c_str(), "wb");
  if (!f || std::fwrite(data, 1, size, f) != size || std::fclose(f) != 0) {
    std::perror(path.c_str());
    std::abort();
  }
  return path;
}

} // namespace mfc::fuzz

#endif // MFC_FUZZ_INPUTFILE_H
