#include <cstdio>

#include "app/commands.hpp"
namespace rtgw::app {
int RunGate(const std::vector<std::string>&) {
  std::fputs("rtgw gate: not built yet\n", stderr);
  return 2;
}
}  // namespace rtgw::app
