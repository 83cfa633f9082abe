// Unit tests of the validators module: registry, file storage,
// callback tokens, and the local launcher with real child processes.
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <future>
#include <iterator>
#include <memory>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>

#include "auth/jws_signer.hpp"
#include "common/await.hpp"
#include "common/temp_dir.hpp"
#include "net/loopback_server.hpp"
#include "storage/sqlite/sqlite_database.hpp"
#include "validators/callback_token.hpp"
#include "validators/local_launcher.hpp"
#include "validators/object_storage.hpp"
#include "validators/registry.hpp"
#include "validators/run_media.hpp"
#include "validators/validation_service.hpp"

namespace rtgw::validators {
namespace {

namespace fs = std::filesystem;

TEST(RegistryTest, ParsesLocalAndCloudRun) {
  auto specs = ParseValidatorRegistry(
      R"({"validators":[{"name":"json-rules","version":"1.0.0","command":["/bin/true"],
      "timeout_seconds":5},{"name":"ep","version":"abc","launcher":"cloud-run",
      "job":"projects/p/locations/l/jobs/ep"}]})");
  ASSERT_TRUE(specs.ok()) << specs.error().message;
  ASSERT_EQ(specs->size(), 2u);
  EXPECT_EQ((*specs)[0].timeout, std::chrono::seconds(5));
  EXPECT_EQ((*specs)[1].cloud_run_job, "projects/p/locations/l/jobs/ep");
  EXPECT_NE(FindValidator(*specs, "json-rules", std::nullopt), nullptr);
  EXPECT_EQ(FindValidator(*specs, "json-rules", std::string("2")), nullptr);
}

TEST(RegistryTest, ParsesSlurmWithNodeAndQueue) {
  auto specs = ParseValidatorRegistry(
      R"({"validators":[{"name":"json-rules","version":"1.0.0","launcher":"slurm",
      "node":"hpc-1","queue":"debug","command":["/usr/bin/python3","/opt/v.py"]},
      {"name":"b","version":"1","launcher":"slurm","node":"hpc-2"}]})");
  ASSERT_TRUE(specs.ok()) << specs.error().message;
  EXPECT_EQ((*specs)[0].node_id, "hpc-1");
  EXPECT_EQ((*specs)[0].queue, "debug");
  EXPECT_TRUE((*specs)[0].command.empty());  // the program is the agent's business
  EXPECT_EQ((*specs)[1].queue, "default");
  auto bad_node = ParseValidatorRegistry(
      R"({"validators":[{"name":"a","version":"1","launcher":"slurm","node":"a b"}]})");
  ASSERT_FALSE(bad_node.ok());
  EXPECT_NE(bad_node.error().message.find("validators[0].node"), std::string::npos);
  EXPECT_FALSE(ParseValidatorRegistry(
                   R"({"validators":[{"name":"a","version":"1","launcher":"slurm","node":"n",
                       "queue":"x y"}]})")
                   .ok());
}

TEST(RegistryTest, RefusesRelativeCommandAndUnknownLauncher) {
  auto rel = ParseValidatorRegistry(
      R"({"validators":[{"name":"a","version":"1","command":["python3"]}]})");
  ASSERT_FALSE(rel.ok());
  EXPECT_NE(rel.error().message.find("validators[0].command[0]"), std::string::npos);
  EXPECT_FALSE(
      ParseValidatorRegistry(R"({"validators":[{"name":"a","version":"1","launcher":"slurm"}]})")
          .ok());
}

class FileStorageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = MakeFileStorage(root_.string());
    ASSERT_TRUE(s.ok());
    storage_ = std::move(s).value();
  }
  TempDir tmp_{"rtgw-media"};
  const fs::path root_ = tmp_.path() / "media";  // MakeFileStorage creates it
  std::unique_ptr<ObjectStorage> storage_;
};

TEST_F(FileStorageTest, RoundTripUnderTheRoot) {
  const std::string uri = JoinUri(storage_->base_uri(), "a/b/input.json");
  ASSERT_TRUE(storage_->Put(uri, "{}", "application/json").ok());
  auto got = storage_->Get(uri);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, "{}");
}

TEST_F(FileStorageTest, RefusesTraversalAndOtherRoots) {
  auto up = storage_->Get(storage_->base_uri() + "/../../etc/passwd");
  ASSERT_FALSE(up.ok());
  EXPECT_EQ(up.error().api_code, "path_outside_media_root");
  EXPECT_FALSE(storage_->Put("file:///tmp/elsewhere.json", "x", "text/plain").ok());
  fs::create_symlink("/etc", root_ / "link");
  EXPECT_FALSE(storage_->Get(storage_->base_uri() + "/link/passwd").ok());
}

TEST_F(FileStorageTest, DeleteRemovesTheObjectAndTheDirectoriesItEmptied) {
  const std::string keep = JoinUri(storage_->base_uri(), "validations/t/vr-1/files/keep.txt");
  const std::string gone = JoinUri(storage_->base_uri(), "validations/t/vr-2/cb-1/input.json");
  ASSERT_TRUE(storage_->Put(keep, "k", "text/plain").ok());
  ASSERT_TRUE(storage_->Put(gone, "{}", "application/json").ok());
  ASSERT_TRUE(storage_->Delete(gone).ok());
  EXPECT_EQ(storage_->Get(gone).error().code, ErrorCode::kNotFound);
  EXPECT_FALSE(fs::exists(root_ / "validations/t/vr-2"));  // emptied: removed
  EXPECT_TRUE(fs::exists(root_ / "validations/t/vr-1/files/keep.txt"));
  EXPECT_TRUE(fs::exists(root_));
  EXPECT_TRUE(storage_->Delete(gone).ok());  // already gone: deleted
  // A write into a directory a delete removed re-creates it.
  ASSERT_TRUE(storage_->Put(gone, "{}", "application/json").ok());
  EXPECT_TRUE(storage_->Get(gone).ok());
}

TEST_F(FileStorageTest, DeleteNeverLeavesTheRootNorFollowsALink) {
  const fs::path outside = tmp_.path() / "outside.txt";
  std::ofstream(outside) << "x";
  EXPECT_EQ(storage_->Delete("file://" + outside.string()).error().api_code,
            "path_outside_media_root");
  EXPECT_FALSE(storage_->Delete(storage_->base_uri() + "/../outside.txt").ok());
  fs::create_symlink(outside, root_ / "link.txt");
  ASSERT_TRUE(storage_->Delete(JoinUri(storage_->base_uri(), "link.txt")).ok());
  EXPECT_FALSE(fs::is_symlink(root_ / "link.txt"));  // the link went,
  EXPECT_TRUE(fs::exists(outside));                  // not what it pointed to
  EXPECT_FALSE(storage_->Delete(storage_->base_uri() + "/").ok());
}

// The GCS JSON API's objects.delete on a local server: the request shape,
// 204 and 404 are both a deleted object, anything else an error.
TEST(GcsStorageTest, DeleteSendsObjectsDeleteAndTakesA404AsDeleted) {
  std::mutex mu;
  std::vector<std::string> seen;
  std::atomic<int> status{204};
  net::FunctionHandler handler([&](const http::Request& r, const http::Respond& respond) {
    {
      std::lock_guard lock(mu);
      seen.push_back(r.method + " " + r.target + " " + std::string(r.Header("authorization")));
    }
    respond(http::Response{.status = status.load()});
  });
  net::LoopbackServer server(handler);
  std::string endpoint = server.Url("");
  auto storage = MakeGcsStorage("gs://bkt/pre", endpoint,
                                []() -> Result<std::string> { return std::string("tok"); });
  ASSERT_TRUE(storage.ok());
  const std::string uri = "gs://bkt/pre/validations/t/vr-1/cb-1/input.json";
  EXPECT_TRUE((*storage)->Delete(uri).ok());
  status = 404;
  EXPECT_TRUE((*storage)->Delete(uri).ok());
  status = 503;
  EXPECT_FALSE((*storage)->Delete(uri).ok());
  std::lock_guard lock(mu);
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(
      seen[0],
      "DELETE /storage/v1/b/bkt/o/pre%2Fvalidations%2Ft%2Fvr-1%2Fcb-1%2Finput.json Bearer tok");
}

// Which objects a pruned run's media are: under the run's prefix only,
// envelopes last.
TEST(RunMediaTest, TheRunsObjectsUnderItsPrefixEnvelopesLast) {
  const std::string p = "gs://b/x/validations/t/vr-1/";
  storage::PrunableRun run;
  run.run.run_id = "vr-1";
  for (int attempt = 1; attempt <= 2; ++attempt) {
    storage::ValidatorExecution e;
    e.callback_id = "cb-" + std::to_string(attempt);
    e.attempt = attempt;
    e.input_uri = p + e.callback_id + "/input.json";
    run.executions.push_back(e);
  }
  run.executions[0].result_uri = p + "cb-1/out/report.json";       // under the prefix: goes
  run.executions[1].result_uri = "gs://b/x/validations/t/vr-9/r";  // another run's: stays
  const std::string envelope = R"({"files":[{"name":"a.txt","uri":")" + p + R"(files/a.txt"},)" +
                               R"({"name":"b","uri":"gs://b/elsewhere/b"},{"name":"c","uri":")" +
                               p + R"(files/../../vr-2/c"}],"result_uri":")" + p +
                               R"(cb-1/result.json"})";
  EXPECT_EQ(RunMediaUris(run, {envelope, ""}),
            (std::vector<std::string>{p + "files/a.txt", p + "cb-1/result.json",
                                      p + "cb-1/out/report.json", p + "cb-2/result.json",
                                      p + "cb-1/input.json", p + "cb-2/input.json"}));
  // An input_uri of another shape: only that object.
  run.executions.resize(1);
  run.executions[0].input_uri = "file:///m/other.json";
  EXPECT_EQ(RunMediaUris(run, {envelope}), (std::vector<std::string>{"file:///m/other.json"}));
}

class TokenTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = auth::JwsSigner::Generate("k1");
    ASSERT_TRUE(s.ok());
    signer_ = std::move(s).value();
    ASSERT_TRUE(verifier_.Trust("local", {signer_->PublicJwks(), "iss-1", "sa@x"}).ok());
  }
  std::string Token(const std::string& aud, std::int64_t exp_offset,
                    const std::string& email = "sa@x") {
    const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    return *signer_->Sign(R"({"iss":"iss-1","aud":")" + aud + R"(","email":")" + email +
                          R"(","iat":)" + std::to_string(now) + R"(,"exp":)" +
                          std::to_string(now + exp_offset) + "}");
  }
  Status Verify(const std::string& token) {
    return verifier_.Verify("local", token, "http://w/cb", std::chrono::system_clock::now());
  }
  std::unique_ptr<auth::JwsSigner> signer_;
  CallbackTokenVerifier verifier_;
};

TEST_F(TokenTest, AcceptsTheRightToken) { EXPECT_TRUE(Verify(Token("http://w/cb", 300)).ok()); }

TEST_F(TokenTest, RejectsWrongAudienceExpiredWrongAccountAndForged) {
  EXPECT_EQ(Verify(Token("http://w/cb2", 300)).error().message, "wrong audience");
  EXPECT_EQ(Verify(Token("http://w/cb", -120)).error().message, "token expired");
  EXPECT_EQ(Verify(Token("http://w/cb", 300, "other@x")).error().message, "wrong service account");
  auto forger = auth::JwsSigner::Generate("k1");
  ASSERT_TRUE(forger.ok());
  auto forged = (*forger)->Sign(R"({"iss":"iss-1","aud":"http://w/cb","email":"sa@x",)"
                                R"("exp":9999999999})");
  EXPECT_FALSE(Verify(*forged).ok());
  EXPECT_FALSE(verifier_
                   .Verify("cloud-run", Token("http://w/cb", 300), "http://w/cb",
                           std::chrono::system_clock::now())
                   .ok());
}

ExecutionStatus WaitEnded(LocalLauncher& l, const std::string& name) {
  for (int i = 0; i < 500; ++i) {
    auto s = l.Poll(name);
    if (s.ok() && s->status != "RUNNING") return *s;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return {"RUNNING", "timeout"};
}

TEST(LocalLauncherTest, RunsAChildWithTheSmallEnvAndReportsItsExit) {
  auto signer = auth::JwsSigner::Generate("k1");
  ASSERT_TRUE(signer.ok());
  LocalLauncher launcher(std::shared_ptr<const auth::JwsSigner>(std::move(signer).value()), {});
  TempDir tmp("rtgw-env");
  const std::string out = tmp.File("env");
  LaunchSpec spec;
  spec.run_id = "vr-1";
  spec.callback_id = "cb-1";
  spec.validator = "v";
  spec.version = "1.2";
  spec.input_uri = "file:///m/input.json";
  spec.callback_url = "http://127.0.0.1:1/cb";
  spec.command = {"/bin/sh", "-c", "env > " + out + "; exit 3"};
  auto name = launcher.Launch(spec);
  ASSERT_TRUE(name.ok()) << name.error().message;
  ExecutionStatus st = WaitEnded(launcher, *name);
  EXPECT_EQ(st.status, "FAILED");
  EXPECT_EQ(st.detail, "exit code 3");
  std::ifstream in(out);
  std::string env((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(env.find("INPUT_URI=file:///m/input.json"), std::string::npos);
  EXPECT_NE(env.find("CALLBACK_ID=cb-1"), std::string::npos);
  EXPECT_NE(env.find("RUN_ID=vr-1"), std::string::npos);
  EXPECT_NE(env.find("VALIDATOR_VERSION=1.2"), std::string::npos);
  EXPECT_NE(env.find("CALLBACK_ID_TOKEN="), std::string::npos);
  EXPECT_EQ(env.find("HOME="), std::string::npos);  // nothing else leaks in

  spec.command = {"/bin/sleep", "30"};
  auto sleeper = launcher.Launch(spec);
  ASSERT_TRUE(sleeper.ok());
  EXPECT_EQ(launcher.Poll(*sleeper)->status, "RUNNING");
  ASSERT_TRUE(launcher.Cancel(*sleeper).ok());
  EXPECT_EQ(WaitEnded(launcher, *sleeper).detail, "killed by signal 9");
  EXPECT_EQ(launcher.Poll("local/1")->detail, "execution lost");
  EXPECT_FALSE(launcher.Poll("local/1")->observed);  // not ours: left to its deadline
  EXPECT_TRUE(launcher.Poll(*name)->observed);
}

TEST(LocalLauncherTest, ALaunchReapsChildrenThatEndedUnpolledAndKeepsTheirExit) {
  auto signer = auth::JwsSigner::Generate("k1");
  ASSERT_TRUE(signer.ok());
  LocalLauncher launcher(std::shared_ptr<const auth::JwsSigner>(std::move(signer).value()), {});
  LaunchSpec spec;
  spec.run_id = "vr-1";
  spec.callback_url = "http://127.0.0.1:1/cb";
  spec.command = {"/bin/sh", "-c", "exit 0"};  // one that called back: never polled
  auto first = launcher.Launch(spec);
  ASSERT_TRUE(first.ok()) << first.error().message;
  const int pid = std::stoi(first->substr(6));
  // Ended but unreaped, it is a zombie: kill(pid, 0) still finds it.
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  ASSERT_EQ(::kill(pid, 0), 0);
  spec.command = {"/bin/sh", "-c", "exit 4"};
  auto second = launcher.Launch(spec);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(::kill(pid, 0), -1);  // reaped by the second launch
  EXPECT_EQ(errno, ESRCH);
  const auto kept = launcher.Poll(*first);
  ASSERT_TRUE(kept.ok());
  EXPECT_EQ(kept->status, "SUCCEEDED");
  EXPECT_EQ(WaitEnded(launcher, *second).detail, "exit code 4");
}

// A launcher whose Launch blocks until released: holds the service's only worker thread.
class BlockingLauncher final : public Launcher {
 public:
  std::string_view name() const override { return "local"; }
  Result<std::string> Launch(const LaunchSpec& spec) override {
    std::unique_lock lock(mu_);
    ++entered_;
    cv_.notify_all();
    cv_.wait(lock, [this] { return released_; });
    return "exec-" + spec.callback_id;
  }
  Result<ExecutionStatus> Poll(const std::string&) override {
    return ExecutionStatus{"RUNNING", ""};
  }
  Status Cancel(const std::string&) override { return Ok{}; }
  void WaitEntered() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [this] { return entered_ > 0; });
  }
  void Release() {
    std::lock_guard lock(mu_);
    released_ = true;
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int entered_ = 0;
  bool released_ = false;
};

// A ValidationService's surroundings: a SQLite store and file media in a temp dir.
class ValidationServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    storage::sqlite::SqliteOptions so;
    so.path = (tmp_.path() / "rtgw.db").string();
    auto store = storage::sqlite::SqliteDatabase::Open(so, nullptr);
    ASSERT_TRUE(store.ok()) << store.error().message;
    store_ = std::move(store).value();
    auto media = MakeFileStorage((tmp_.path() / "media").string());
    ASSERT_TRUE(media.ok());
    media_ = std::move(media).value();
  }
  void TearDown() override {
    if (store_) store_->Close();
  }
  storage::JobStore& jobs() { return store_->jobs(); }
  storage::ValidatorRunStore& runs() { return store_->validator_runs(); }

  TempDir tmp_{"rtgw-vs"};
  std::unique_ptr<storage::sqlite::SqliteDatabase> store_;
  std::unique_ptr<ObjectStorage> media_;
  CallbackTokenVerifier verifier_;
};

TEST_F(ValidationServiceTest, WorkBeyondTheQueueBoundIsRefusedAtOnceWith503Overloaded) {
  BlockingLauncher launcher;
  ValidationServiceOptions o;
  o.validators = {ValidatorSpec{.name = "v", .version = "1", .command = {"/bin/true"}}};
  o.callback_url = "http://w/cb";
  o.threads = 1;
  o.max_queued = 1;
  std::vector<std::promise<Result<storage::ValidatorRun>>> replies(3);
  {
    ValidationService service(o, jobs(), runs(), *media_, {{"local", &launcher}}, verifier_);
    auto launch = [&](int i) {
      LaunchRequest r{.tenant_id = "t",
                      .subject = "u",
                      .workspace_id = "w",
                      .validator = "v",
                      .document_json = "{}",
                      .trace_id = "tr-" + std::to_string(i)};
      service.Launch(std::move(r), [&replies, i](Result<storage::ValidatorRun> reply) {
        replies[static_cast<std::size_t>(i)].set_value(std::move(reply));
      });
    };
    launch(0);
    launcher.WaitEntered();  // the only worker is busy
    launch(1);               // waits in the queue (1 of 1)
    launch(2);               // refused at once, on this thread
    auto third = replies[2].get_future();
    ASSERT_EQ(third.wait_for(std::chrono::seconds(0)), std::future_status::ready);
    const Result<storage::ValidatorRun> refused = third.get();
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.error().code, ErrorCode::kUnavailable);  // 503 + Retry-After: api's
    EXPECT_EQ(refused.error().api_code, "overloaded");         // error_mapping_test.cpp
    launcher.Release();
    for (int i = 0; i < 2; ++i) {
      auto f = replies[static_cast<std::size_t>(i)].get_future();
      ASSERT_EQ(f.wait_for(std::chrono::seconds(10)), std::future_status::ready);
      const Result<storage::ValidatorRun> r = f.get();
      ASSERT_TRUE(r.ok()) << r.error().message;
      EXPECT_EQ(r->current.attempt, 1);
    }
    service.Stop();
  }
}

// A launcher that answers RUNNING and records which executions it was asked about.
class RecordingLauncher final : public Launcher {
 public:
  std::string_view name() const override { return "local"; }
  Result<std::string> Launch(const LaunchSpec& spec) override { return "exec-" + spec.callback_id; }
  Result<ExecutionStatus> Poll(const std::string& execution_name) override {
    polled.push_back(execution_name);
    return ExecutionStatus{"RUNNING", ""};
  }
  Status Cancel(const std::string&) override { return Ok{}; }
  std::vector<std::string> polled;  // PollOnce runs on the test's thread
};

// More open executions than one pass may poll: each pass goes on where the last stopped
// (wrapping around at the end), so all of them are polled, not the first few again and again.
TEST_F(ValidationServiceTest, PollPassesWalkOnPastTheCapAndWrapAround) {
  std::vector<std::string> names;  // in ListDue order: by deadline
  for (int i = 0; i < 10; ++i) {
    storage::ValidatorRun r;
    r.run_id = "vr-" + std::to_string(i);
    r.tenant_id = "t";
    r.workspace_id = "w";
    r.validator = "v";
    r.version = "1";
    r.launcher = "local";
    r.requested_by = "u";
    r.created_at = "2026-02-18T00:00:00Z";
    r.current.callback_id = "cb-" + std::to_string(i);
    r.current.run_id = r.run_id;
    r.current.job_id = r.run_id + "-1";
    r.current.submission_id = "s";
    r.current.execution_name = "local/" + std::to_string(1000 + i);
    r.current.status = storage::kRunRunning;
    r.current.input_uri = "file:///m/input.json";
    r.current.trace_id = "tr";
    r.current.deadline_us = 4'000'000'000'000'000 + i;  // far ahead: nothing is finished
    r.current.created_at = r.created_at;
    names.push_back(r.current.execution_name);
    ASSERT_TRUE(Await<Ok>([&](const storage::Callback<Ok>& cb) { runs().CreateRun(r, cb); }).ok());
  }
  RecordingLauncher launcher;
  ValidationServiceOptions o;
  o.callback_url = "http://w/cb";
  o.poll_max_executions = 4;
  {
    ValidationService service(o, jobs(), runs(), *media_, {{"local", &launcher}}, verifier_);
    auto pass = [&] {
      launcher.polled.clear();
      service.PollOnce();
      return launcher.polled;
    };
    using V = std::vector<std::string>;
    EXPECT_EQ(pass(), V(names.begin(), names.begin() + 4));
    EXPECT_EQ(pass(), V(names.begin() + 4, names.begin() + 8));
    EXPECT_EQ(pass(), (V{names[8], names[9], names[0], names[1]}));  // wrapped around
    EXPECT_EQ(pass(), V(names.begin() + 2, names.begin() + 6));
    service.Stop();
  }
  {
    // Fewer open executions than the cap: every pass polls each once, from the first.
    o.poll_max_executions = 64;
    ValidationService service(o, jobs(), runs(), *media_, {{"local", &launcher}}, verifier_);
    for (int i = 0; i < 2; ++i) {
      launcher.polled.clear();
      service.PollOnce();
      EXPECT_EQ(launcher.polled, names);
    }
    service.Stop();
  }
}

}  // namespace
}  // namespace rtgw::validators
