#include "storage/store_executor.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace rtgw::storage {
namespace {

// The executor's own behaviour, on contexts that are plain counters: what a
// backend adds (SQL, connections) is tested with the backends.
struct Ctx {
  int lane = 0;
};

using Executor = StoreExecutor<Ctx, Ctx>;

// A backend whose batches "commit" by recording their sizes; a gate lets a
// test hold the writer inside a batch.
struct FakeBackend {
  std::vector<Ctx> ctx{Ctx{0}, Ctx{1}, Ctx{2}};
  std::mutex mu;
  std::condition_variable cv;
  bool hold = false;  // GUARDED_BY(mu)
  bool in_batch = false;
  std::vector<std::size_t> batches;  // GUARDED_BY(mu)
  int retry_first_n = 0;             // writes given back once, for a retry

  Executor::Hooks Hooks() {
    return Executor::Hooks{.run_batch =
                               [this](int lane, Executor::Batch& batch, Executor::Batch& retry) {
                                 std::unique_lock lock(mu);
                                 in_batch = true;
                                 cv.notify_all();
                                 cv.wait(lock, [this] { return !hold; });
                                 in_batch = false;
                                 batches.push_back(batch.size());
                                 for (auto& w : batch) {
                                   if (w->attempts == 0 && retry_first_n > 0) {
                                     --retry_first_n;
                                     ++w->attempts;
                                     retry.push_back(std::move(w));
                                     continue;
                                   }
                                   (void)w->Execute(ctx[static_cast<std::size_t>(lane)]);
                                   w->AfterCommit();
                                 }
                               },
                           .after_batch = nullptr,
                           .run_read =
                               [this](int lane, Executor::Read& read) {
                                 read.Execute(ctx[static_cast<std::size_t>(lane)]);
                               }};
  }
  void Hold() {
    std::lock_guard lock(mu);
    hold = true;
  }
  void Release() {
    {
      std::lock_guard lock(mu);
      hold = false;
    }
    cv.notify_all();
  }
  void AwaitInBatch() {
    std::unique_lock lock(mu);
    cv.wait(lock, [this] { return in_batch; });
  }
};

ExecutorOptions SqliteShape(std::size_t max_queue = 1000) {
  return ExecutorOptions{.writer_lanes = 1,
                         .reader_lanes = 2,
                         .mixed_lanes = 0,
                         .max_batch = 64,
                         .max_queue = max_queue,
                         .completer_thread = true,
                         .batch_size_buckets = {1, 2, 4}};
}

template <class T>
struct Answer {
  std::promise<std::pair<Result<T>, std::thread::id>> promise;
  Callback<T> Cb() {
    return [this](Result<T> r) { promise.set_value({std::move(r), std::this_thread::get_id()}); };
  }
};

std::unique_ptr<Executor::Write> WriteReturning(int value, Callback<int> done) {
  return MakeWrite<Ctx, int>([value](Ctx&) -> Result<int> { return value; }, std::move(done));
}

TEST(StoreExecutorTest, QueuedWritesShareOneBatchAndAnswerOnAStoreThread) {
  FakeBackend backend;
  Executor ex(SqliteShape(), backend.Hooks(), nullptr);
  ASSERT_TRUE(ex.Start().ok());
  backend.Hold();
  Answer<int> first;
  ex.EnqueueWrite(WriteReturning(1, first.Cb()));
  backend.AwaitInBatch();  // the writer holds the first write alone
  std::vector<std::unique_ptr<Answer<int>>> rest;
  for (int i = 0; i < 10; ++i) {
    rest.push_back(std::make_unique<Answer<int>>());
    ex.EnqueueWrite(WriteReturning(i, rest.back()->Cb()));
  }
  backend.Release();
  auto [r1, thread1] = first.promise.get_future().get();
  EXPECT_EQ(*r1, 1);
  EXPECT_NE(thread1, std::this_thread::get_id());
  for (int i = 0; i < 10; ++i) EXPECT_EQ(*rest[i]->promise.get_future().get().first, i);
  ex.Close();
  std::lock_guard lock(backend.mu);
  EXPECT_EQ(backend.batches, (std::vector<std::size_t>{1, 10}));  // group commit
}

TEST(StoreExecutorTest, AFullQueueRefusesAtOnceOnAStoreThread) {
  FakeBackend backend;
  Executor ex(SqliteShape(/*max_queue=*/2), backend.Hooks(), nullptr);
  ASSERT_TRUE(ex.Start().ok());
  backend.Hold();
  Answer<int> taken;
  ex.EnqueueWrite(WriteReturning(0, taken.Cb()));
  backend.AwaitInBatch();
  Answer<int> a, b, refused;
  ex.EnqueueWrite(WriteReturning(1, a.Cb()));
  ex.EnqueueWrite(WriteReturning(2, b.Cb()));
  ex.EnqueueWrite(WriteReturning(3, refused.Cb()));       // the queue holds two
  auto [r, thread] = refused.promise.get_future().get();  // answered while the writer is held
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "store overloaded");
  EXPECT_EQ(r.error().api_code, "store_unavailable");
  EXPECT_NE(thread, std::this_thread::get_id());
  backend.Release();
  EXPECT_TRUE(a.promise.get_future().get().first.ok());
  EXPECT_TRUE(b.promise.get_future().get().first.ok());
  ex.Close();
}

TEST(StoreExecutorTest, CloseAnswersEverythingQueuedThenRefusesOnTheCallersThread) {
  FakeBackend backend;
  Executor ex(SqliteShape(), backend.Hooks(), nullptr);
  ASSERT_TRUE(ex.Start().ok());
  std::atomic<int> answered{0};
  for (int i = 0; i < 100; ++i) {
    ex.EnqueueWrite(WriteReturning(i, [&](const Result<int>& r) {
      EXPECT_TRUE(r.ok());
      ++answered;
    }));
    ex.EnqueueRead(MakeRead<Ctx, int>([](Ctx& c) -> Result<int> { return c.lane; },
                                      [&](Result<int> r) {
                                        // Reads run on the reader lanes 1 and 2.
                                        EXPECT_TRUE(r.ok() && (*r == 1 || *r == 2));
                                        ++answered;
                                      }));
  }
  ex.Close();
  EXPECT_EQ(answered.load(), 200);
  EXPECT_FALSE(ex.Accepting());
  Answer<int> late;
  ex.EnqueueWrite(WriteReturning(1, late.Cb()));
  auto [r, thread] = late.promise.get_future().get();
  EXPECT_EQ(r.error().message, "store closed");
  EXPECT_EQ(thread, std::this_thread::get_id());  // no store thread is left
}

TEST(StoreExecutorTest, InternalWritesStillRunWhileTheStoreStopsAccepting) {
  FakeBackend backend;
  Executor ex(SqliteShape(), backend.Hooks(), nullptr);
  ASSERT_TRUE(ex.Start().ok());
  ex.StopAccepting();
  Answer<int> external, internal;
  ex.EnqueueWrite(WriteReturning(1, external.Cb()));
  ex.EnqueueWrite(WriteReturning(2, internal.Cb()), /*internal=*/true);
  EXPECT_EQ(external.promise.get_future().get().first.error().message, "store closed");
  EXPECT_EQ(*internal.promise.get_future().get().first, 2);
  ex.Close();
}

TEST(StoreExecutorTest, WritesGivenBackForARetryRunAgainAndAnswerOnce) {
  FakeBackend backend;
  backend.retry_first_n = 3;
  Executor ex(ExecutorOptions{.writer_lanes = 0,
                              .reader_lanes = 0,
                              .mixed_lanes = 3,  // the PostgreSQL shape
                              .max_batch = 8,
                              .max_queue = 100,
                              .completer_thread = false,
                              .batch_size_buckets = {1}},
              backend.Hooks(), nullptr);
  ASSERT_TRUE(ex.Start().ok());
  std::atomic<int> answers{0};
  std::vector<std::unique_ptr<Answer<int>>> all;
  for (int i = 0; i < 5; ++i) {
    all.push_back(std::make_unique<Answer<int>>());
    ex.EnqueueWrite(WriteReturning(i, all.back()->Cb()));
  }
  for (int i = 0; i < 5; ++i) EXPECT_EQ(*all[i]->promise.get_future().get().first, i);
  ex.Close();
  std::lock_guard lock(backend.mu);
  std::size_t ran = 0;
  for (std::size_t n : backend.batches) ran += n;
  EXPECT_EQ(ran, 8u);  // five writes, three of them twice
}

TEST(StoreExecutorTest, AThrowingCallbackDoesNotStopTheStore) {
  FakeBackend backend;
  Executor ex(SqliteShape(), backend.Hooks(), nullptr);
  ASSERT_TRUE(ex.Start().ok());
  ex.EnqueueWrite(WriteReturning(1, [](const Result<int>&) { throw std::runtime_error("boom"); }));
  Answer<int> next;
  ex.EnqueueWrite(WriteReturning(2, next.Cb()));
  EXPECT_EQ(*next.promise.get_future().get().first, 2);
  ex.Close();
}

}  // namespace
}  // namespace rtgw::storage
