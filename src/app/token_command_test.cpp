// `rtgw token revoke` against a scripted client and against a real server on
// loopback; `rtgw token issue` usage errors. (Tokens themselves:
// auth/token_issuer_test.cpp; end to end: tests/blackbox/test_token_cli.py.)
#include "app/token_command.hpp"

#include <map>
#include <mutex>
#include <optional>

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include "net/curl_http_client.hpp"
#include "net/fake_http_client.hpp"
#include "net/loopback_server.hpp"

namespace rtgw::app {
namespace {

using Args = std::vector<std::string>;

config::EnvLookup EnvOf(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const std::string& name) -> std::optional<std::string> {
    const auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

// Runs `rtgw token <args>`; returns the exit code, stdout and stderr in `out`/`err`.
int RunCaptured(const Args& args, net::HttpClient& client, const config::EnvLookup& env,
                std::string* out = nullptr, std::string* err = nullptr) {
  ::testing::internal::CaptureStdout();
  ::testing::internal::CaptureStderr();
  const int code = RunTokenCommand(args, client, env);
  const std::string stdout_text = ::testing::internal::GetCapturedStdout();
  const std::string stderr_text = ::testing::internal::GetCapturedStderr();
  if (out != nullptr) *out = stdout_text;
  if (err != nullptr) *err = stderr_text;
  return code;
}

const Args kRevoke = {"revoke", "--url", "http://gw.example:8080/", "--jti", "j-42"};

Args With(Args args, std::initializer_list<std::string> more) {
  args.insert(args.end(), more);
  return args;
}

TEST(TokenRevokeTest, PostsTheJtiWithTheBearerTokenAndPrintsTheAnswer) {
  net::FakeHttpClient client;
  const std::string answer = R"({"jti":"j-42","expires_at":"2026-12-31T23:59:59Z","revoked":true})";
  client.Enqueue(net::FakeHttpClient::Status(200, answer));
  std::string out;
  EXPECT_EQ(
      RunCaptured(With(kRevoke, {"--token", "admin.jwt.x", "--expires-at", "2026-12-31T23:59:59Z"}),
                  client, EnvOf({}), &out),
      0);
  EXPECT_EQ(out, answer + "\n");
  const auto requests = client.Requests();
  ASSERT_EQ(requests.size(), 1u);
  const net::HttpRequest& r = requests[0];
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.url, "http://gw.example:8080/api/runtime/tokens:revoke");
  EXPECT_EQ(r.headers, (net::HeaderList{{"Authorization", "Bearer admin.jwt.x"},
                                        {"Content-Type", "application/json"}}));
  EXPECT_EQ(boost::json::parse(r.body),
            boost::json::parse(R"({"jti":"j-42","expires_at":"2026-12-31T23:59:59Z"})"));
}

TEST(TokenRevokeTest, TakesTheTokenFromTheEnvironmentOrAFile) {
  net::FakeHttpClient client;
  client.SetDefault([](const net::HttpRequest&) { return net::FakeHttpClient::Status(200, "{}"); });
  EXPECT_EQ(RunCaptured(kRevoke, client, EnvOf({{"RTGW_TOKEN", "from.env.jwt"}})), 0);
  const std::string file = ::testing::TempDir() + "token_revoke_admin.jwt";
  {
    std::FILE* f = std::fopen(file.c_str(), "w");
    std::fputs("  from.file.jwt\n", f);
    std::fclose(f);
  }
  EXPECT_EQ(RunCaptured(With(kRevoke, {"--token-file", file}), client, EnvOf({})), 0);
  std::remove(file.c_str());
  const auto requests = client.Requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].headers[0].second, "Bearer from.env.jwt");
  EXPECT_EQ(requests[1].headers[0].second, "Bearer from.file.jwt");
  EXPECT_EQ(boost::json::parse(requests[0].body), boost::json::parse(R"({"jti":"j-42"})"));
}

TEST(TokenRevokeTest, AnErrorAnswerOrNoAnswerExitsOneWithTheCodeAndMessage) {
  net::FakeHttpClient client;
  client.Enqueue(net::FakeHttpClient::Status(
      403, R"({"error":{"code":"scope_denied","message":"needs runtime:admin","trace_id":"t"}})"));
  client.Enqueue(net::FakeHttpClient::TransportError("connection refused"));
  std::string err;
  const Args args = With(kRevoke, {"--token", "t"});
  EXPECT_EQ(RunCaptured(args, client, EnvOf({}), nullptr, &err), 1);
  EXPECT_NE(err.find("HTTP 403 scope_denied: needs runtime:admin"), std::string::npos) << err;
  EXPECT_EQ(RunCaptured(args, client, EnvOf({}), nullptr, &err), 1);
  EXPECT_NE(err.find("connection refused"), std::string::npos) << err;
}

TEST(TokenRevokeTest, BadUsageExitsTwoAndSendsNothing) {
  net::FakeHttpClient client;
  const std::vector<Args> bad = {
      {"revoke", "--url", "http://gw:1", "--token", "t"},               // no jti
      {"revoke", "--jti", "j", "--token", "t"},                         // no url
      {"revoke", "--url", "gw:8080", "--jti", "j", "--token", "t"},     // not http(s)
      With(kRevoke, {}),                                                // no token
      With(kRevoke, {"--token", "t", "--expires-at", "tomorrow"}),      // not RFC 3339
      With(kRevoke, {"--token", "t", "--token-file", "/nonexistent"}),  // two tokens
      With(kRevoke, {"--token-file", "/nonexistent/token"}),            // unreadable
      With(kRevoke, {"--token", "t", "--bogus"}),                       // unknown flag
      {"revoke", "--url", "http://gw:1", "--token", "t", "--jti", std::string(257, 'j')},
      {"frobnicate"},
      {},
  };
  for (const Args& args : bad) {
    std::string err;
    EXPECT_EQ(RunCaptured(args, client, EnvOf({}), nullptr, &err), 2)
        << ::testing::PrintToString(args);
    EXPECT_FALSE(err.empty());
  }
  EXPECT_EQ(client.RequestCount(), 0);
}

TEST(TokenRevokeTest, SendsTheRequestOnTheWire) {
  std::mutex mu;
  http::Request seen;
  net::FunctionHandler handler([&](http::Request r, http::Respond respond) {
    {
      std::lock_guard lock(mu);
      seen = r;
    }
    respond(http::Response{.status = 200, .body = R"({"revoked":true})"});
  });
  net::LoopbackServer server(handler);
  net::CurlHttpClient client;
  std::string out;
  std::string url = server.Url("");
  EXPECT_EQ(RunCaptured({"revoke", "--url", url, "--token", "adm", "--jti", "j-1"}, client,
                        EnvOf({}), &out),
            0);
  EXPECT_EQ(out, "{\"revoked\":true}\n");
  std::lock_guard lock(mu);
  EXPECT_EQ(seen.method, "POST");
  EXPECT_EQ(seen.path, "/api/runtime/tokens:revoke");
  EXPECT_EQ(seen.Header("authorization"), "Bearer adm");
  EXPECT_EQ(seen.Header("content-type"), "application/json");
  EXPECT_EQ(boost::json::parse(seen.body), boost::json::parse(R"({"jti":"j-1"})"));
}

TEST(TokenIssueTest, BadUsageExitsTwo) {
  net::FakeHttpClient client;
  const auto env = EnvOf({});
  const std::vector<Args> bad = {
      {"issue", "--sub", "s", "--secret", "x"},     // no tenant
      {"issue", "--tenant", "t", "--secret", "x"},  // no sub
      {"issue", "--tenant", "t", "--sub", "s"},     // no key
      {"issue", "--tenant", "t", "--sub", "s", "--secret", "x", "--scope", "runtime:write"},
      {"issue", "--tenant", "t", "--sub", "s", "--secret", "x", "--ttl", "0"},
      {"issue", "--tenant", "t", "--sub", "s", "--secret", "x", "--ttl", "366d"},
      {"issue", "--tenant", "t", "--sub", "s", "--secret", "x", "--ttl", "soon"},
      {"issue", "--tenant", "t", "--sub", "s", "--secret", "x", "--key-file", "k.pem"},
      {"issue", "--tenant", "t", "--sub", "s", "--secret", "x", "--kid", "k"},
      {"issue", "--tenant", "t", "--sub", "s", "--key-file", "/nonexistent.pem"},
      {"issue", "--tenant", "t", "--sub", "s", "--secrets-file", "/nonexistent.env"},
  };
  for (const Args& args : bad) {
    std::string out;
    std::string err;
    EXPECT_EQ(RunCaptured(args, client, env, &out, &err), 2) << ::testing::PrintToString(args);
    EXPECT_EQ(out, "");
    EXPECT_NE(err.find("rtgw token issue: "), std::string::npos) << err;
  }
}

TEST(TokenIssueTest, ASecretFromTheEnvironmentDoesNotConflictWithAKeyFile) {
  net::FakeHttpClient client;
  std::string err;
  // The key file is missing: the error is about it, not about two key sources.
  EXPECT_EQ(RunCaptured({"issue", "--tenant", "t", "--sub", "s", "--key-file", "/nonexistent.pem"},
                        client, EnvOf({{"RTGW_JWT_HS256_SECRET", "x"}}), nullptr, &err),
            2);
  EXPECT_NE(err.find("cannot read /nonexistent.pem"), std::string::npos) << err;
}

}  // namespace
}  // namespace rtgw::app
