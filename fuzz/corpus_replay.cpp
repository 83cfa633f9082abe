// Replays every file of one fuzz corpus (fuzz/corpus/<target>/) through that
// target's LLVMFuzzerTestOneInput, under the normal gcc build, so crashes found
// by fuzzing stay fixed (Envoy's corpus practice). One harness for every
// target: CMake links it with each fuzz/<target>.cpp into
// rtgw_fuzz_replay_<target>, registered in ctest as FuzzCorpusReplay.<target>.
//
// Usage: rtgw_fuzz_replay_<target> CORPUS_DIR_OR_FILE...
// Exit 0 when every input ran; 1 when a directory is missing or empty. A
// failing input aborts (a property check) or is reported by a sanitizer; the
// SIGABRT/SIGSEGV handler first names the file.
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

namespace fs = std::filesystem;

// The input being replayed, for the signal handler (async-signal-safe: a
// plain pointer and write(2)).
const char* current_input = nullptr;

void NameInputAndDie(int signal_number) {
  if (current_input != nullptr) {
    constexpr char kPrefix[] = "\nfuzz corpus replay: failed on ";
    (void)!write(STDERR_FILENO, kPrefix, sizeof kPrefix - 1);
    (void)!write(STDERR_FILENO, current_input, std::strlen(current_input));
    (void)!write(STDERR_FILENO, "\n", 1);
  }
  std::signal(signal_number, SIG_DFL);
  std::raise(signal_number);
}

std::vector<fs::path> Inputs(const fs::path& arg) {
  std::vector<fs::path> out;
  if (fs::is_directory(arg)) {
    for (const auto& entry : fs::directory_iterator(arg)) {
      if (entry.is_regular_file()) out.push_back(entry.path());
    }
    // Sorted, so a run is reproducible.
    std::sort(out.begin(), out.end());
  } else if (fs::is_regular_file(arg)) {
    out.push_back(arg);
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGABRT, NameInputAndDie);
  std::signal(SIGSEGV, NameInputAndDie);
  std::size_t replayed = 0;
  for (int i = 1; i < argc; ++i) {
    const auto inputs = Inputs(argv[i]);
    if (inputs.empty()) {
      std::fprintf(stderr, "fuzz corpus replay: no inputs in %s\n", argv[i]);
      return 1;
    }
    for (const auto& path : inputs) {
      std::ifstream in(path, std::ios::binary);
      const std::string bytes((std::istreambuf_iterator<char>(in)),
                              std::istreambuf_iterator<char>());
      const std::string name = path.string();
      current_input = name.c_str();
      // A copy of exactly `size` bytes, so ASan sees reads past the end.
      const std::vector<std::uint8_t> data(bytes.begin(), bytes.end());
      LLVMFuzzerTestOneInput(data.data(), data.size());
      current_input = nullptr;
      ++replayed;
    }
  }
  std::printf("fuzz corpus replay: %zu inputs, no failure\n", replayed);
  return replayed > 0 ? 0 : 1;
}
