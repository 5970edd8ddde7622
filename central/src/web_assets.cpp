#include "web_assets.hpp"

#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>

#include <array>
#include <utility>

namespace exportsync::central::web {

const char* const kContentSecurityPolicy =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'";

namespace {

const std::vector<Asset>& table() {
  static const std::vector<Asset> t = [] {
    std::vector<Asset> out;
    for (std::size_t i = 0; i < kEmbeddedFileCount; ++i) {
      const EmbeddedFile& f = kEmbeddedFiles[i];
      const std::string path = f.path;
      out.push_back(Asset{path == "index.html" ? "/" : "/" + path, f.path,
                          std::string_view(reinterpret_cast<const char*>(f.data), f.size), f.etag,
                          contentTypeFor(f.path)});
    }
    return out;
  }();
  return t;
}

bool endsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// If-None-Match: "*" or a list of (possibly weak) entity tags.
bool etagMatches(const std::string& header, std::string_view etag) {
  if (header.empty()) {
    return false;
  }
  if (header == "*") {
    return true;
  }
  std::size_t pos = 0;
  while (pos < header.size()) {
    std::size_t end = header.find(',', pos);
    if (end == std::string::npos) {
      end = header.size();
    }
    std::string_view tag(header.data() + pos, end - pos);
    while (!tag.empty() && (tag.front() == ' ' || tag.front() == '\t')) {
      tag.remove_prefix(1);
    }
    while (!tag.empty() && (tag.back() == ' ' || tag.back() == '\t')) {
      tag.remove_suffix(1);
    }
    if (tag.rfind("W/", 0) == 0) {
      tag.remove_prefix(2);
    }
    if (tag == etag) {
      return true;
    }
    pos = end + 1;
  }
  return false;
}

}  // namespace

std::string_view contentTypeFor(std::string_view path) {
  static const std::array<std::pair<std::string_view, std::string_view>, 12> kTypes = {{
      {".html", "text/html; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"},
      {".json", "application/json"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".ico", "image/x-icon"},
      {".woff2", "font/woff2"},
      {".txt", "text/plain; charset=utf-8"},
      {".webmanifest", "application/manifest+json"},
      {".map", "application/json"},
  }};
  for (const auto& [ext, type] : kTypes) {
    if (endsWith(path, ext)) {
      return type;
    }
  }
  return "application/octet-stream";
}

std::vector<Asset> assets() { return table(); }

const Asset* findAsset(std::string_view url_path) {
  if (url_path == "/index.html") {
    url_path = "/";
  }
  for (const Asset& a : table()) {
    if (a.url == url_path) {
      return &a;
    }
  }
  return nullptr;
}

bool serveAsset(const std::string& url_path, Poco::Net::HTTPServerRequest& req,
                Poco::Net::HTTPServerResponse& res) {
  const std::string& method = req.getMethod();
  if (method != Poco::Net::HTTPRequest::HTTP_GET && method != Poco::Net::HTTPRequest::HTTP_HEAD) {
    return false;
  }
  const Asset* a = findAsset(url_path);
  if (a == nullptr) {
    return false;
  }
  res.set("ETag", std::string(a->etag));
  // The names carry no content hash: the browser keeps its copy but asks each time (a cheap 304),
  // so a hub upgrade is seen at the next load and the page works offline from the hub alone.
  res.set("Cache-Control", "no-cache");
  res.set("Content-Security-Policy", kContentSecurityPolicy);
  res.set("X-Content-Type-Options", "nosniff");
  res.set("Referrer-Policy", "no-referrer");
  res.set("X-Frame-Options", "DENY");
  res.set("Cross-Origin-Opener-Policy", "same-origin");
  if (etagMatches(req.get("If-None-Match", ""), a->etag)) {
    res.setStatus(Poco::Net::HTTPResponse::HTTP_NOT_MODIFIED);
    res.setContentLength(0);
    res.send();
    return true;
  }
  res.setStatus(Poco::Net::HTTPResponse::HTTP_OK);
  res.setContentType(std::string(a->content_type));
  res.setContentLength(static_cast<std::streamsize>(a->data.size()));
  auto& out = res.send();
  if (method != Poco::Net::HTTPRequest::HTTP_HEAD) {
    out.write(a->data.data(), static_cast<std::streamsize>(a->data.size()));
  }
  return true;
}

}  // namespace exportsync::central::web
