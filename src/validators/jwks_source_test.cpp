// JwksSource: max-age, refetch on an unknown kid with a rate limit, keeping
// the last good keys. A fake HTTP client and a fake clock; real keys and tokens.
#include "validators/jwks_source.hpp"

#include <gtest/gtest.h>

#include "auth/jws_signer.hpp"
#include "net/fake_http_client.hpp"
#include "validators/callback_token.hpp"

namespace rtgw::validators {
namespace {

using namespace std::chrono_literals;

struct Fixture {
  std::chrono::steady_clock::time_point now{std::chrono::hours(1000)};
  std::string body;
  int status = 200;
  std::string cache_control = "public, max-age=600";
  net::FakeHttpClient http;
  std::shared_ptr<JwksSource> source;

  Fixture() {
    JwksSource::Options o;
    o.min_refetch = 30s;
    o.default_max_age = 300s;
    o.clock = [this] { return now; };
    http.SetDefault([this](const net::HttpRequest&) {
      net::HttpResponse r = net::FakeHttpClient::Status(status, body);
      if (!cache_control.empty()) r.headers.emplace_back("cache-control", cache_control);
      return r;
    });
    o.http = &http;
    source = std::make_shared<JwksSource>("https://keys.example/certs", o);
  }
};

std::unique_ptr<auth::JwsSigner> Key(const std::string& kid) {
  auto k = auth::JwsSigner::Generate(kid);
  EXPECT_TRUE(k.ok());
  return std::move(k).value();
}

TEST(JwksSourceTest, ParsesMaxAge) {
  EXPECT_EQ(ParseMaxAge("public, max-age=19710, must-revalidate, no-transform"), 19710s);
  EXPECT_EQ(ParseMaxAge("Max-Age=\"5\""), 5s);
  EXPECT_EQ(ParseMaxAge("public"), std::nullopt);
  EXPECT_EQ(ParseMaxAge("no-cache, max-age=60"), std::nullopt);
  EXPECT_EQ(ParseMaxAge("max-age=-1"), std::nullopt);
}

TEST(JwksSourceTest, HonoursMaxAgeAndRefetchesAnUnknownKidAtMostOncePerWindow) {
  Fixture f;
  auto k1 = Key("k1");
  auto k2 = Key("k2");
  f.body = k1->PublicJwks();
  ASSERT_TRUE(f.source->Load().ok());
  EXPECT_EQ(f.source->fetches(), 1);
  EXPECT_EQ(f.source->Keys("k1")->at(0).kid(), "k1");
  f.now += 599s;
  f.source->Keys("k1");
  EXPECT_EQ(f.source->fetches(), 1);  // within max-age: no fetch
  f.now += 2s;
  f.body = k2->PublicJwks();
  EXPECT_EQ(f.source->Keys("k2")->at(0).kid(), "k2");  // max-age passed: refetched
  EXPECT_EQ(f.source->fetches(), 2);
  // Unknown kids: one refetch, then none until min_refetch has passed.
  f.now += 31s;
  f.source->Keys("made-up-1");
  EXPECT_EQ(f.source->fetches(), 3);
  for (int i = 0; i < 20; ++i) f.source->Keys("made-up-" + std::to_string(i));
  EXPECT_EQ(f.source->fetches(), 3);
  f.now += 30s;
  f.source->Keys("made-up-x");
  EXPECT_EQ(f.source->fetches(), 4);
}

TEST(JwksSourceTest, AFailedRefetchKeepsTheLastKeysAndNoMaxAgeMeansTheDefault) {
  Fixture f;
  auto k1 = Key("k1");
  f.body = k1->PublicJwks();
  f.cache_control.clear();
  ASSERT_TRUE(f.source->Load().ok());
  f.now += 299s;
  f.source->Keys("k1");
  EXPECT_EQ(f.source->fetches(), 1);
  f.now += 2s;  // default max-age 300 s passed
  f.status = 503;
  auto keys = f.source->Keys("k1");
  EXPECT_EQ(f.source->fetches(), 2);
  ASSERT_NE(keys, nullptr);
  EXPECT_EQ(keys->at(0).kid(), "k1");
  f.body = "not json";
  f.status = 200;
  f.now += 31s;
  EXPECT_EQ(f.source->Keys("k1")->at(0).kid(), "k1");
  EXPECT_EQ(f.source->fetches(), 3);
}

TEST(JwksSourceTest, VerifierFollowsARotation) {
  Fixture f;
  auto k1 = Key("k1");
  auto k2 = Key("k2");
  f.body = k1->PublicJwks();
  ASSERT_TRUE(f.source->Load().ok());
  CallbackTokenVerifier v;
  TrustedCaller caller;
  caller.issuer = "https://accounts.google.com";
  caller.service_account = "job@p.iam.gserviceaccount.com";
  caller.jwks_source = f.source;
  ASSERT_TRUE(v.Trust("cloud-run", caller).ok());
  const auto now = std::chrono::system_clock::now();
  const auto secs =
      std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  const std::string claims = R"({"iss":"https://accounts.google.com","aud":"http://w/cb",)"
                             R"("email":"job@p.iam.gserviceaccount.com","iat":)" +
                             std::to_string(secs) + R"(,"exp":)" + std::to_string(secs + 300) + "}";
  EXPECT_TRUE(v.Verify("cloud-run", *k1->Sign(claims), "http://w/cb", now).ok());
  // Google rotates: a token of the new key is accepted after one refetch.
  f.body = k2->PublicJwks();
  f.now += 31s;
  EXPECT_TRUE(v.Verify("cloud-run", *k2->Sign(claims), "http://w/cb", now).ok());
  EXPECT_EQ(f.source->fetches(), 2);
  EXPECT_FALSE(v.Verify("cloud-run", *k1->Sign(claims), "http://w/cb", now).ok());
}

}  // namespace
}  // namespace rtgw::validators
