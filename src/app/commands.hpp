#ifndef RTGW_APP_COMMANDS_HPP_
#define RTGW_APP_COMMANDS_HPP_

#include <string>
#include <vector>

// Subcommands of the rtgw binary. Each takes the arguments after its own
// name and returns the process exit code.
namespace rtgw::app {

int RunServe(const std::vector<std::string>& args);
int RunMigrate(const std::vector<std::string>& args);
int RunStore(const std::vector<std::string>& args);
int RunOpenApi(const std::vector<std::string>& args);
int RunDev(const std::vector<std::string>& args);
int RunToken(const std::vector<std::string>& args);  // token_command.hpp
int RunRelayCommand(const std::vector<std::string>& args);
int RunConformance(const std::vector<std::string>& args);
int RunGate(const std::vector<std::string>& args);
int RunAgent(const std::vector<std::string>& args);

inline constexpr const char* kVersion = RTGW_VERSION;

}  // namespace rtgw::app

#endif  // RTGW_APP_COMMANDS_HPP_
