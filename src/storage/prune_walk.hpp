#ifndef RTGW_STORAGE_PRUNE_WALK_HPP_
#define RTGW_STORAGE_PRUNE_WALK_HPP_

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <iterator>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include "common/error.hpp"

// The one batch loop of every retention walk (docs/contracts/retention.md):
// read a page, archive it, release it, delete it in small writes, pace; used
// by PruneJobs (storage/job_pruner.hpp) and PruneValidatorRuns
// (storage/validator_run_pruner.hpp). Blocks the calling thread (never an HTTP
// I/O thread); not thread-safe itself (one walk per call).
namespace rtgw::storage {

// The duty cycle of a background walk: after a step that took `took`, sleeps
// took * (100 - busy_percent) / busy_percent (nothing at 100) and returns the
// time slept. busy_percent: 1..100. Also paces the change-feed prune
// (RetentionRunner).
std::chrono::microseconds PaceAfter(std::chrono::microseconds took, int busy_percent);

// How a walk runs. Validated by the walk: batch 1..10'000, busy 1..100.
struct WalkPacing {
  int batch = 500;  // items per read and archive write
  // Items per delete write (1..batch): a batch is deleted in writes of at most
  // this many, one after the other, so the submits queued meanwhile never wait
  // behind a whole batch's delete (each is one transaction).
  int delete_batch = 50;
  // Pause between batches, so the writes of one batch never queue right behind
  // another's: submits get the writer in between.
  std::chrono::milliseconds pause{20};
  // Duty cycle (1..100): after each step that took t (the batch's read, its
  // archive write, its release, each delete write) the walk sleeps
  // PaceAfter(t, busy_percent), so it keeps the readers, the disk and the one
  // SQLite writer busy at most busy_percent of the time.
  int busy_percent = 100;
  // Stop after this many items were handed to `remove` (0: no limit), and when
  // `*stop` turns true (checked between batches; may be null).
  std::int64_t max_items = 0;
  const std::atomic<bool>* stop = nullptr;
};

// Where a walk's time went, as the walking thread waited for each step (a
// delete write's time includes its wait for the writer and its commit).
struct WalkTimes {
  std::int64_t batches = 0;  // non-empty pages handled
  std::chrono::microseconds read_time{0};
  std::chrono::microseconds archive_time{0};
  std::chrono::microseconds release_time{0};
  std::chrono::microseconds delete_time{0};
  std::chrono::microseconds longest_delete{0};
  std::chrono::microseconds paced_time{0};  // slept for the pacing
};

template <typename Item, typename Key>
struct WalkPage {
  std::vector<Item> items;
  std::optional<Key> next;  // nullopt: the walk ends after this page
};

// The steps of one kind of walk. `read` and `remove` are required.
template <typename Item, typename Key>
struct WalkSteps {
  // Up to `limit` items after `after` (nullopt: from the start), in key order.
  std::function<Result<WalkPage<Item, Key>>(const std::optional<Key>& after, int limit)> read;
  // Makes the page durable elsewhere before anything of it is deleted; empty:
  // no archive (the caller's explicit choice). An error stops the walk.
  std::function<Status(const std::vector<Item>&)> archive;
  // Releases what the rows point to (media objects) and returns the items
  // whose rows may go now; an item it keeps stays for the next walk. Empty:
  // every item goes.
  std::function<std::vector<Item>(std::vector<Item>)> release;
  // Deletes one write's items (at most delete_batch). An error stops the walk.
  std::function<Status(std::vector<Item>)> remove;
};

namespace prune_walk_detail {

// Times one step into `total`, then sleeps its duty-cycle share.
inline std::chrono::microseconds EndStep(std::chrono::steady_clock::time_point start,
                                         std::chrono::microseconds& total, WalkTimes& times,
                                         int busy_percent) {
  const auto took = std::chrono::duration_cast<std::chrono::microseconds>(
      std::chrono::steady_clock::now() - start);
  total += took;
  times.paced_time += PaceAfter(took, busy_percent);
  return took;
}

}  // namespace prune_walk_detail

// Walks once: read a page, archive it, release it, delete it in writes of at
// most delete_batch items, pause; until the pages end, max_items or *stop.
// Every step is paced by busy_percent. An error stops the walk: pages before
// it are archived and deleted; the failed page is not deleted (archive
// error) or may be archived again by the next walk (delete error after the
// archive was written). `times` accumulates (also on error).
template <typename Item, typename Key>
Status WalkAndDelete(const WalkPacing& pacing, const WalkSteps<Item, Key>& steps,
                     WalkTimes& times) {
  using prune_walk_detail::EndStep;
  using Clock = std::chrono::steady_clock;
  if (pacing.batch < 1 || pacing.batch > 10'000) {
    return InvalidArgument("batch size must be 1..10000");
  }
  if (pacing.busy_percent < 1 || pacing.busy_percent > 100) {
    return InvalidArgument("busy percent must be 1..100");
  }
  const std::size_t chunk = static_cast<std::size_t>(std::max(1, pacing.delete_batch));
  std::int64_t handed = 0;
  std::optional<Key> after;
  for (;;) {
    if (pacing.stop != nullptr && pacing.stop->load()) break;
    int limit = pacing.batch;
    if (pacing.max_items > 0) {
      const std::int64_t left = pacing.max_items - handed;
      if (left <= 0) break;
      if (left < limit) limit = static_cast<int>(left);
    }
    auto start = Clock::now();
    Result<WalkPage<Item, Key>> page = steps.read(after, limit);
    EndStep(start, times.read_time, times, pacing.busy_percent);
    if (!page) return std::move(page).error();
    if (!page->items.empty()) {
      if (steps.archive) {
        start = Clock::now();
        Status s = steps.archive(page->items);
        EndStep(start, times.archive_time, times, pacing.busy_percent);
        if (!s) return s;
      }
      std::vector<Item> items = std::move(page->items);
      if (steps.release) {
        start = Clock::now();
        items = steps.release(std::move(items));
        EndStep(start, times.release_time, times, pacing.busy_percent);
      }
      for (std::size_t i = 0; i < items.size(); i += chunk) {
        const auto first = items.begin() + static_cast<std::ptrdiff_t>(i);
        const auto last =
            items.begin() + static_cast<std::ptrdiff_t>(std::min(items.size(), i + chunk));
        std::vector<Item> part(std::make_move_iterator(first), std::make_move_iterator(last));
        handed += static_cast<std::int64_t>(part.size());
        start = Clock::now();
        Status s = steps.remove(std::move(part));
        times.longest_delete = std::max(
            times.longest_delete, EndStep(start, times.delete_time, times, pacing.busy_percent));
        if (!s) return s;
      }
      ++times.batches;
    }
    if (!page->next) break;
    after = std::move(page->next);
    if (pacing.pause.count() > 0) std::this_thread::sleep_for(pacing.pause);
  }
  return Ok{};
}

}  // namespace rtgw::storage

#endif  // RTGW_STORAGE_PRUNE_WALK_HPP_
