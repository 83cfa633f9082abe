#include "app/job_archive.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include <boost/json.hpp>

#include "api/job_views.hpp"
#include "validators/object_storage.hpp"
#include "validators/validation_service.hpp"

namespace rtgw::app {

namespace json = boost::json;

namespace {

// "20261206T222100Z": the run's UTC start, in names.
std::string CompactUtcNow() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

Error FileError(const std::string& what, const std::string& path) {
  return Unavailable("archive " + what + " " + path + ": " +
                     std::generic_category().message(errno));
}

Status WriteAll(int fd, const std::string& bytes, const std::string& path) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return FileError("write", path);
    }
    done += static_cast<std::size_t>(n);
  }
  return Ok{};
}

std::string Lines(const std::vector<storage::PrunableJob>& batch) {
  std::string out;
  for (const storage::PrunableJob& j : batch) {
    out += ArchiveLine(j.detail);
    out += '\n';
  }
  return out;
}

std::string Lines(const std::vector<storage::PrunableRun>& batch) {
  std::string out;
  for (const storage::PrunableRun& r : batch) {
    out += RunArchiveLine(r);
    out += '\n';
  }
  return out;
}

// An archive is a sink of JSON Lines: Put and PutRuns render their batch and
// hand it to PutLines.
class LinesArchive : public Archive {
 public:
  Status Put(const std::vector<storage::PrunableJob>& batch) final {
    return PutLines(Lines(batch));
  }
  Status PutRuns(const std::vector<storage::PrunableRun>& batch) final {
    return PutLines(Lines(batch));
  }

 protected:
  virtual Status PutLines(const std::string& lines) = 0;
};

class FileArchiver final : public LinesArchive {
 public:
  explicit FileArchiver(std::string dir) : dir_(std::move(dir)) {}
  ~FileArchiver() override {
    if (fd_ >= 0) ::close(fd_);
  }

 private:
  Status PutLines(const std::string& lines) override {
    if (fd_ < 0) {
      if (Status s = Create(); !s) return s;
    }
    if (Status s = WriteAll(fd_, lines, path_); !s) return s;
    if (::fsync(fd_) != 0) return FileError("fsync", path_);
    return Ok{};
  }

  Status Create() {
    const std::string stamp = CompactUtcNow();
    for (int n = 1; n <= 1000; ++n) {
      std::string path = dir_ + "/rtgw-archive-" + stamp + "-" + std::to_string(n) + ".jsonl";
      int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0600);
      if (fd < 0 && errno == EEXIST) continue;
      if (fd < 0) return FileError("create", path);
      fd_ = fd;
      path_ = std::move(path);
      // The new name must survive a crash as well as the lines in it.
      int dfd = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (dfd < 0) return FileError("open directory", dir_);
      const int rc = ::fsync(dfd);
      ::close(dfd);
      if (rc != 0) return FileError("fsync directory", dir_);
      return Ok{};
    }
    return Unavailable("archive: no free file name in " + dir_);
  }

  std::string dir_;
  std::string path_;
  int fd_ = -1;
};

class GcsArchiver final : public LinesArchive {
 public:
  GcsArchiver(std::unique_ptr<validators::ObjectStorage> storage, std::string base)
      : storage_(std::move(storage)), base_(std::move(base)), stamp_(CompactUtcNow()) {}

 private:
  Status PutLines(const std::string& lines) override {
    const std::string uri = validators::JoinUri(
        base_, "rtgw-archive-" + stamp_ + "-" + std::to_string(++batches_) + ".jsonl");
    return storage_->Put(uri, lines, "application/x-ndjson");
  }

  std::unique_ptr<validators::ObjectStorage> storage_;
  std::string base_;
  std::string stamp_;
  int batches_ = 0;
};

}  // namespace

std::string ArchiveLine(const storage::JobDetail& detail) {
  json::object line;
  line["job"] = json::parse(api::JobJson(detail.job));
  json::value full = json::parse(api::JobDetailJson(detail));
  line["events"] = full.as_object()["events"];
  return json::serialize(line);
}

std::string RunArchiveLine(const storage::PrunableRun& run) {
  auto parse_or_null = [](const std::optional<std::string>& text) -> json::value {
    if (!text) return nullptr;
    boost::system::error_code ec;
    json::value v = json::parse(*text, ec);
    return ec ? json::value(*text) : v;
  };
  json::array executions;
  for (const storage::ValidatorExecution& e : run.executions) {
    executions.push_back(json::object{
        {"callback_id", e.callback_id},
        {"attempt", e.attempt},
        {"job_id", e.job_id},
        {"submission_id", e.submission_id},
        {"execution_name", e.execution_name},
        {"status", e.status},
        {"input_uri", e.input_uri},
        {"result_uri", e.result_uri.empty() ? json::value(nullptr) : json::value(e.result_uri)},
        {"findings", parse_or_null(e.findings_json)},
        {"error", e.error ? json::value(*e.error) : json::value(nullptr)},
        {"receipt", parse_or_null(e.receipt_json)},
        {"trace_id", e.trace_id},
        {"created_at", e.created_at},
        {"finished_at", e.finished_at.empty() ? json::value(nullptr) : json::value(e.finished_at)},
    });
  }
  json::object line;
  line["validator_run"] = json::parse(validators::RunJson(run.run));
  line["executions"] = std::move(executions);
  return json::serialize(line);
}

Result<std::unique_ptr<Archive>> OpenJobArchive(const ArchiveOptions& options) {
  const std::string& uri = options.uri;
  if (uri.rfind("file://", 0) == 0) {
    std::string dir = uri.substr(7);
    while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
    struct stat st {};
    if (dir.empty() || dir[0] != '/' || ::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
      return InvalidArgument("--archive " + uri +
                             ": file:// needs an absolute path of an existing directory");
    }
    return std::unique_ptr<Archive>(new FileArchiver(std::move(dir)));
  }
  if (uri.rfind("gs://", 0) == 0) {
    auto storage = validators::MakeGcsStorage(
        uri, options.gcs_endpoint,
        validators::MakeAccessTokenSource(options.gcp_access_token, options.metadata_url));
    if (!storage) return InvalidArgument("--archive " + uri + ": " + storage.error().message);
    return std::unique_ptr<Archive>(new GcsArchiver(std::move(storage).value(), uri));
  }
  return InvalidArgument("--archive " + uri +
                         ": expected file:///absolute/dir or gs://bucket[/prefix]");
}

}  // namespace rtgw::app
