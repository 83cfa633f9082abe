#include "net/fake_http_client.hpp"

#include <utility>

namespace rtgw::net {
namespace {

FakeHttpClient::Responder Always(HttpResponse response) {
  return [response = std::move(response)](const HttpRequest&) { return response; };
}

}  // namespace

HttpResponse FakeHttpClient::Status(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  if (status == 0) r.error = "fake transport failure";
  return r;
}

HttpResponse FakeHttpClient::TransportError(std::string error) {
  HttpResponse r;
  r.error = std::move(error);
  return r;
}

void FakeHttpClient::Enqueue(HttpResponse response) { Enqueue(Always(std::move(response))); }

void FakeHttpClient::Enqueue(Responder responder) {
  std::lock_guard lock(mu_);
  queued_.push_back(std::move(responder));
}

void FakeHttpClient::Answer(const std::string& url, HttpResponse response) {
  Answer(url, Always(std::move(response)));
}

void FakeHttpClient::Answer(const std::string& url, Responder responder) {
  std::lock_guard lock(mu_);
  by_url_[url] = std::move(responder);
}

void FakeHttpClient::SetDefault(Responder responder) {
  std::lock_guard lock(mu_);
  default_ = std::move(responder);
}

HttpResponse FakeHttpClient::Send(const HttpRequest& request) {
  Responder responder;
  {
    std::lock_guard lock(mu_);
    requests_.push_back(request);
    if (!queued_.empty()) {
      responder = std::move(queued_.front());
      queued_.pop_front();
    } else if (auto it = by_url_.find(request.url); it != by_url_.end()) {
      responder = it->second;
    } else {
      responder = default_;
    }
  }
  if (!responder)
    return TransportError("fake: no answer for " + request.method + " " + request.url);
  return responder(request);
}

std::vector<HttpRequest> FakeHttpClient::Requests() const {
  std::lock_guard lock(mu_);
  return requests_;
}

int FakeHttpClient::RequestCount() const {
  std::lock_guard lock(mu_);
  return static_cast<int>(requests_.size());
}

}  // namespace rtgw::net
