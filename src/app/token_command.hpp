#ifndef RTGW_APP_TOKEN_COMMAND_HPP_
#define RTGW_APP_TOKEN_COMMAND_HPP_

#include <string>
#include <vector>

#include "common/error.hpp"
#include "config/options.hpp"
#include "net/http_client.hpp"

// `rtgw token issue|revoke|jwks`, and the HS256 secret options it shares with
// `rtgw dev token`. Everything here runs on the caller's thread; not for
// concurrent use (it prints to stdout/stderr).
namespace rtgw::app {

// --secrets-file, --secret, --issuer and --audience, as both commands take them.
const std::vector<config::OptionSpec>& Hs256SigningSpecs();

// What signs an HS256 token, and the iss/aud the gateway checks.
struct Hs256Signing {
  std::string secret;  // empty: none given
  std::string issuer;
  std::string audience;
};

// Resolves `values` (parsed with Hs256SigningSpecs()): --secret wins over the RTGW_JWT_HS256_SECRET
// of
// --secrets-file, which wins over the environment variable; RTGW_JWT_ISSUER /
// RTGW_JWT_AUDIENCE in the secrets file win over the environment, flags win
// over both. kInvalidArgument when the secrets file cannot be read or has no
// secret (and --secret is not given).
Result<Hs256Signing> ResolveHs256Signing(const config::OptionValues& values);

// `rtgw token <args>`, with `client` for revoke and `env` for the RTGW_*
// variables. Returns the exit code: 0 done, 1 the server refused or could not
// be reached, 2 bad usage.
int RunTokenCommand(const std::vector<std::string>& args, net::HttpClient& client,
                    const config::EnvLookup& env);
// The same with libcurl and the process environment (commands.hpp).
int RunToken(const std::vector<std::string>& args);

}  // namespace rtgw::app

#endif  // RTGW_APP_TOKEN_COMMAND_HPP_
