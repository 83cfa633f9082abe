#include "agent/proc/process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

extern char** environ;

namespace rtgw::agent {
namespace {

struct Fd {
  int fd = -1;
  Fd() = default;
  explicit Fd(int f) : fd(f) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { Close(); }
  void Close() {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
};

bool MakePipe(Fd& r, Fd& w) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return false;
  r.fd = p[0];
  w.fd = p[1];
  return true;
}

}  // namespace

Result<ProcessResult> RunProcess(const std::vector<std::string>& argv,
                                 const ProcessOptions& options) {
  if (argv.empty()) return InvalidArgument("RunProcess: empty argv");
  // Everything the child needs is prepared before fork: no allocation after.
  std::vector<char*> cargv;
  cargv.reserve(argv.size() + 1);
  for (const std::string& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  std::vector<std::string> env_store;
  std::vector<char*> cenv;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) cenv.push_back(*e);
  for (const std::string& e : options.extra_env) cenv.push_back(const_cast<char*>(e.c_str()));
  cenv.push_back(nullptr);

  Fd in_r, in_w, out_r, out_w, err_r, err_w, exec_r, exec_w;
  if (!MakePipe(in_r, in_w) || !MakePipe(out_r, out_w) || !MakePipe(err_r, err_w) ||
      !MakePipe(exec_r, exec_w)) {
    return Unavailable(std::string("pipe: ") + std::strerror(errno));
  }
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) return Unavailable(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);  // parent already gone
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::dup2(in_r.fd, 0);
    ::dup2(out_w.fd, 1);
    ::dup2(err_w.fd, 2);
    ::execvpe(cargv[0], cargv.data(), cenv.data());
    const int e = errno;
    ssize_t ignored = ::write(exec_w.fd, &e, sizeof e);
    (void)ignored;
    ::_exit(127);
  }
  in_r.Close();
  out_w.Close();
  err_w.Close();
  exec_w.Close();

  // exec failure? The pipe closes on a successful exec (EOF) or carries errno.
  int exec_errno = 0;
  ssize_t n;
  do {
    n = ::read(exec_r.fd, &exec_errno, sizeof exec_errno);
  } while (n < 0 && errno == EINTR);
  if (n == static_cast<ssize_t>(sizeof exec_errno)) {
    int st;
    ::waitpid(pid, &st, 0);
    return Unavailable("cannot run " + argv[0] + ": " + std::strerror(exec_errno));
  }

  ProcessResult result;
  ::fcntl(in_w.fd, F_SETFL, O_NONBLOCK);
  std::size_t in_off = 0;
  if (options.stdin_data.empty()) in_w.Close();
  const auto deadline = std::chrono::steady_clock::now() + options.timeout;
  char buf[16384];
  while (out_r.fd >= 0 || err_r.fd >= 0) {
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) {
      result.timed_out = true;
      ::kill(-pid, SIGKILL);
      ::kill(pid, SIGKILL);
      break;
    }
    pollfd fds[3];
    int nfds = 0;
    int idx_out = -1, idx_err = -1, idx_in = -1;
    if (out_r.fd >= 0) {
      idx_out = nfds;
      fds[nfds++] = {out_r.fd, POLLIN, 0};
    }
    if (err_r.fd >= 0) {
      idx_err = nfds;
      fds[nfds++] = {err_r.fd, POLLIN, 0};
    }
    if (in_w.fd >= 0) {
      idx_in = nfds;
      fds[nfds++] = {in_w.fd, POLLOUT, 0};
    }
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count() + 1;
    const int rc = ::poll(fds, nfds, static_cast<int>(left));
    if (rc < 0) {
      if (errno == EINTR) continue;
      break;
    }
    auto drain = [&](int idx, Fd& fd, std::string& sink) {
      if (idx < 0 || fds[idx].revents == 0) return;
      const ssize_t got = ::read(fd.fd, buf, sizeof buf);
      if (got > 0) {
        const std::size_t room =
            sink.size() < options.max_output_bytes ? options.max_output_bytes - sink.size() : 0;
        sink.append(buf, std::min<std::size_t>(room, static_cast<std::size_t>(got)));
      } else if (got == 0 || (errno != EINTR && errno != EAGAIN)) {
        fd.Close();
      }
    };
    drain(idx_out, out_r, result.out);
    drain(idx_err, err_r, result.err);
    if (idx_in >= 0 && fds[idx_in].revents != 0) {
      if (fds[idx_in].revents & (POLLERR | POLLHUP)) {
        in_w.Close();
      } else {
        const ssize_t put = ::write(in_w.fd, options.stdin_data.data() + in_off,
                                    options.stdin_data.size() - in_off);
        if (put > 0) in_off += static_cast<std::size_t>(put);
        if ((put < 0 && errno != EAGAIN && errno != EINTR) || in_off >= options.stdin_data.size()) {
          in_w.Close();
        }
      }
    }
  }
  in_w.Close();
  int status = 0;
  pid_t w;
  do {
    w = ::waitpid(pid, &status, 0);
  } while (w < 0 && errno == EINTR);
  if (w == pid) {
    if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
    if (WIFSIGNALED(status)) result.term_signal = WTERMSIG(status);
  }
  return result;
}

}  // namespace rtgw::agent
