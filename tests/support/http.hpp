// HTTP calls to a hub or an agent's status API on 127.0.0.1 with Poco, for the tests and the
// benchmarks: one request with the headers given (bearer token, session cookie, CSRF token…) and
// the answer's status, headers and body; a transport error is an answer with status 0. And the
// wait for a just-started daemon to serve. No GoogleTest here.
//
// THREAD: a session is used from one thread; the functions share no state. OWNERSHIP: plain
// values.
#pragma once

#include <Poco/Exception.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <ostream>
#include <sstream>
#include <string>

#include "support/child_process.hpp"
#include "support/files.hpp"
#include "support/wait.hpp"

namespace exportsync::test_support {

using HttpHeaders = std::map<std::string, std::string>;

/// An answer. status 0: no HTTP answer, and the body holds the transport error.
struct HttpReply {
  int status = 0;
  std::string body;
  HttpHeaders headers;  ///< one value per name (the last one given)

  /// The body as a JSON object (an empty object when it is not one).
  Poco::JSON::Object::Ptr json() const {
    try {
      Poco::JSON::Parser parser;
      return parser.parse(body).extract<Poco::JSON::Object::Ptr>();
    } catch (const Poco::Exception&) {
      return new Poco::JSON::Object;
    }
  }
  /// A string member of the JSON body ("" when absent).
  std::string str(const std::string& key) const { return json()->optValue<std::string>(key, ""); }
  /// A header's value ("" when absent).
  std::string header(const std::string& name) const {
    const auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
  }
};

inline std::ostream& operator<<(std::ostream& out, const HttpReply& r) {
  return out << "HTTP " << r.status << " " << r.body;
}

/// {"Authorization": "Bearer <token>"}; no header for an empty token.
inline HttpHeaders bearer(const std::string& token) {
  return token.empty() ? HttpHeaders{} : HttpHeaders{{"Authorization", "Bearer " + token}};
}

/// One request on `session` (which may be kept alive across calls). With `body`, the request
/// carries it with `content_type` and its Content-Length (0 for ""); without, neither header.
inline HttpReply httpExchange(Poco::Net::HTTPClientSession& session, const std::string& method,
                              const std::string& path, const HttpHeaders& headers = {},
                              const std::optional<std::string>& body = std::nullopt,
                              const std::string& content_type = "application/json") {
  HttpReply reply;
  try {
    Poco::Net::HTTPRequest req(method, path, Poco::Net::HTTPMessage::HTTP_1_1);
    req.setKeepAlive(true);
    for (const auto& [k, v] : headers) {
      req.set(k, v);
    }
    if (body) {
      req.setContentType(content_type);
      req.setContentLength(static_cast<std::streamsize>(body->size()));
    }
    auto& out = session.sendRequest(req);
    if (body) {
      out.write(body->data(), static_cast<std::streamsize>(body->size()));
    }
    Poco::Net::HTTPResponse res;
    auto& in = session.receiveResponse(res);
    reply.status = static_cast<int>(res.getStatus());
    for (const auto& [k, v] : res) {
      reply.headers[k] = v;
    }
    std::ostringstream text;
    text << in.rdbuf();
    reply.body = text.str();
  } catch (const Poco::Exception& e) {
    reply.status = 0;
    reply.body = e.displayText();
  }
  return reply;
}

/// One request on a fresh connection to 127.0.0.1:`port`, `timeout` for each socket operation.
inline HttpReply httpRequest(uint16_t port, const std::string& method, const std::string& path,
                             const HttpHeaders& headers = {},
                             const std::optional<std::string>& body = std::nullopt,
                             const std::string& content_type = "application/json",
                             std::chrono::seconds timeout = std::chrono::seconds(60)) {
  Poco::Net::HTTPClientSession session("127.0.0.1", port);
  session.setTimeout(Poco::Timespan(static_cast<long>(timeout.count()), 0));
  return httpExchange(session, method, path, headers, body, content_type);
}

/// Waits until `process`, a daemon just started with a port file (the hub's hub.port_file), has
/// written its port to `port_file` and answers GET `health_path` with 200. Returns the port; 0
/// when the process ended first or `timeout` passed.
inline uint16_t waitUntilServing(ChildProcess& process, const std::string& port_file,
                                 const std::string& health_path, std::chrono::milliseconds timeout,
                                 std::chrono::milliseconds poll = std::chrono::milliseconds(20)) {
  uint16_t port = 0;
  const bool up = waitUntil(
      [&] {
        if (!process.running()) {
          return true;
        }
        port = readPortFile(port_file);
        return port != 0 && httpRequest(port, "GET", health_path, {}, std::nullopt,
                                        "application/json", std::chrono::seconds(5))
                                    .status == 200;
      },
      timeout, poll);
  return up && process.running() ? port : 0;
}

}  // namespace exportsync::test_support
