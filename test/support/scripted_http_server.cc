#include "support/scripted_http_server.h"

#include <algorithm>
#include <cctype>

#include <httplib.h>

namespace berth::testing {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  return std::ranges::equal(a, b, [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
  });
}

}  // namespace

std::string RecordedRequest::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (iequals(k, name)) return v;
  }
  return {};
}

ScriptedResponse ScriptedResponse::with_body(int status, std::string body) {
  ScriptedResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

ScriptedResponse ScriptedResponse::streaming(std::vector<std::string> chunks, bool hold_open) {
  ScriptedResponse r;
  r.chunks = std::move(chunks);
  r.hold_open = hold_open;
  return r;
}

ScriptedResponse&& ScriptedResponse::header(std::string name, std::string value) && {
  headers.emplace_back(std::move(name), std::move(value));
  return std::move(*this);
}

ScriptedHttpServer::ScriptedHttpServer() { start(false, {}); }

ScriptedHttpServer::ScriptedHttpServer(const Tls& tls) { start(true, tls); }

void ScriptedHttpServer::start(bool tls, const Tls& files) {
  tls_ = tls;
  if (tls) {
    server_ = std::make_unique<httplib::SSLServer>(files.cert_file.c_str(), files.key_file.c_str());
  } else {
    server_ = std::make_unique<httplib::Server>();
  }
  if (!server_->is_valid()) return;
  // Held watch streams occupy a worker each; leave room for ordinary requests beside them.
  server_->new_task_queue = [] { return new httplib::ThreadPool(16); };
  // httplib writes headers and body separately; without this, Nagle plus the client's delayed
  // ACK adds 40 ms to every answer on a kept-alive connection.
  server_->set_tcp_nodelay(true);
  auto handle = [this](const httplib::Request& req, httplib::Response& res) {
    RecordedRequest rec;
    rec.method = req.method;
    rec.path = req.path;
    rec.target = req.target;
    for (const auto& [k, v] : req.headers) rec.headers.emplace_back(k, v);
    rec.body = req.body;
    rec.remote_port = req.remote_port;
    ScriptedResponse answer = next_response(rec);
    res.status = answer.status;
    for (const auto& [k, v] : answer.headers) res.set_header(k, v);
    if (answer.chunks.empty() && !answer.hold_open) {
      res.set_content(answer.body, answer.content_type);
      return;
    }
    auto chunks = std::make_shared<std::vector<std::string>>(std::move(answer.chunks));
    auto index = std::make_shared<std::size_t>(0);
    bool hold = answer.hold_open;
    res.set_chunked_content_provider(answer.content_type, [this, chunks, index, hold](std::size_t,
                                                                                     httplib::DataSink& sink) {
      if (*index < chunks->size()) {
        const std::string& c = (*chunks)[(*index)++];
        return sink.write(c.data(), c.size());
      }
      if (hold) {
        std::unique_lock lock(mu_);
        std::uint64_t generation = release_generation_;
        ++held_;
        cv_.notify_all();
        // Wake periodically to notice a client that went away (httplib has no event for it).
        while (!stopping_ && release_generation_ == generation && sink.is_writable()) {
          cv_.wait_for(lock, std::chrono::milliseconds(20));
        }
        --held_;
        cv_.notify_all();
      }
      sink.done();
      return true;
    });
  };
  server_->Get(".*", handle);
  server_->Post(".*", handle);
  server_->Put(".*", handle);
  server_->Patch(".*", handle);
  server_->Delete(".*", handle);
  port_ = server_->bind_to_any_port("127.0.0.1");
  if (port_ <= 0) return;
  thread_ = std::thread([this] {
    server_->listen_after_bind();
    listen_returned_ = true;
  });
}

ScriptedHttpServer::~ScriptedHttpServer() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    cv_.notify_all();
  }
  if (thread_.joinable()) {
    // stop() is a no-op until the accept loop runs; wait for it so the join cannot hang.
    while (!server_->is_running() && !listen_returned_) std::this_thread::yield();
    server_->stop();
    thread_.join();
  }
}

std::string ScriptedHttpServer::url() const {
  return (tls_ ? "https://127.0.0.1:" : "http://127.0.0.1:") + std::to_string(port_);
}

void ScriptedHttpServer::enqueue(ScriptedResponse response) {
  std::lock_guard lock(mu_);
  queue_.push_back(std::move(response));
}

void ScriptedHttpServer::set_handler(Handler handler) {
  std::lock_guard lock(mu_);
  handler_ = std::move(handler);
}

ScriptedResponse ScriptedHttpServer::next_response(const RecordedRequest& request) {
  Handler handler;
  {
    std::lock_guard lock(mu_);
    requests_.push_back(request);
    cv_.notify_all();
    if (!queue_.empty()) {
      ScriptedResponse r = std::move(queue_.front());
      queue_.pop_front();
      return r;
    }
    handler = handler_;
  }
  if (handler) return handler(request);
  return ScriptedResponse::with_body(404, R"({"kind":"Status","apiVersion":"v1","status":"Failure",)"
                                          R"("reason":"NotFound","message":"no scripted answer","code":404})");
}

std::vector<RecordedRequest> ScriptedHttpServer::requests() const {
  std::lock_guard lock(mu_);
  return requests_;
}

bool ScriptedHttpServer::wait_for_requests(std::size_t n, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return requests_.size() >= n; });
}

void ScriptedHttpServer::release_streams() {
  std::lock_guard lock(mu_);
  ++release_generation_;
  cv_.notify_all();
}

bool ScriptedHttpServer::wait_for_held_streams(int n, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return held_ >= n; });
}

}  // namespace berth::testing
