// An HTTP(S) server on 127.0.0.1 that answers from a script, for testing HTTP clients
// (RestClient over CurlTransport) against real sockets.
//
//   ScriptedHttpServer server;                       // plain HTTP, an ephemeral port
//   server.enqueue(ScriptedResponse::with_body(429).header("Retry-After", "1"));
//   server.enqueue(ScriptedResponse::with_body(200, R"({"kind":"Service",...})"));
//   ... client.get(...) against server.url() ...
//   EXPECT_EQ(server.requests().size(), 2);
//
// Answers are taken in order from the queue; when it is empty the handler (set_handler) decides,
// else 404. A response with `chunks` is sent with chunked transfer encoding, one flush per chunk
// (to split a watch line mid-way); `hold_open` then keeps the stream open until the client goes
// away, release_streams() is called, or the server stops.
//
// Thread-safety: all members may be called from any thread. The destructor stops the server and
// joins its threads (held streams are released first).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace httplib {
class Server;
}

namespace berth::testing {

struct ScriptedResponse {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string content_type = "application/json";
  std::vector<std::string> chunks;  // non-empty: a chunked stream instead of `body`
  bool hold_open = false;           // after the chunks, wait instead of ending the stream

  // Builders (designated initialisers that skip fields trip -Wmissing-field-initializers).
  static ScriptedResponse with_body(int status, std::string body = "");
  static ScriptedResponse streaming(std::vector<std::string> chunks, bool hold_open = false);
  ScriptedResponse&& header(std::string name, std::string value) &&;
};

struct RecordedRequest {
  std::string method;
  std::string path;    // decoded path without the query
  std::string target;  // the request target as sent: path and raw query
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  int remote_port = 0;  // the client's port: equal across requests on one kept-alive connection

  // The first value of a header (case-insensitive name), or "".
  std::string header(std::string_view name) const;
};

class ScriptedHttpServer {
 public:
  using Handler = std::function<ScriptedResponse(const RecordedRequest&)>;

  struct Tls {
    std::string cert_file;
    std::string key_file;
  };

  // Plain HTTP.
  ScriptedHttpServer();
  // HTTPS with the given certificate chain and key (PEM files).
  explicit ScriptedHttpServer(const Tls& tls);
  ~ScriptedHttpServer();

  ScriptedHttpServer(const ScriptedHttpServer&) = delete;
  ScriptedHttpServer& operator=(const ScriptedHttpServer&) = delete;

  // "http://127.0.0.1:<port>" (or https).
  std::string url() const;
  int port() const { return port_; }
  // False when the server could not bind (the constructor does not throw).
  bool ok() const { return port_ > 0; }

  void enqueue(ScriptedResponse response);
  void set_handler(Handler handler);

  std::vector<RecordedRequest> requests() const;
  // Blocks until at least n requests arrived, or `timeout` (real time) passed; false then.
  bool wait_for_requests(std::size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(10)) const;
  // Ends every held-open stream.
  void release_streams();
  // How many held streams are open right now; waits until `n` are (or timeout).
  bool wait_for_held_streams(int n, std::chrono::milliseconds timeout = std::chrono::seconds(10)) const;

 private:
  void start(bool tls, const Tls& files);
  ScriptedResponse next_response(const RecordedRequest& request);

  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  std::atomic<bool> listen_returned_ = false;
  int port_ = -1;
  bool tls_ = false;

  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::deque<ScriptedResponse> queue_;     // guarded by mu_
  Handler handler_;                        // guarded by mu_
  std::vector<RecordedRequest> requests_;  // guarded by mu_
  std::uint64_t release_generation_ = 0;   // guarded by mu_
  bool stopping_ = false;                  // guarded by mu_
  int held_ = 0;                           // guarded by mu_
};

}  // namespace berth::testing
