// The dashboard's static files (central/web), embedded into the hub at build time by
// cmake/EmbedFiles.cmake, and served at "/" (index.html) and "/<path>" ("/assets/app.js") with
// their content type, an ETag, Cache-Control and the security headers (CSP without inline
// scripts, nosniff, Referrer-Policy).
//
// THREAD: every function may be called from any thread (the table is immutable).
// OWNERSHIP: the bytes are static; Asset and EmbeddedFile only point at them.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace Poco::Net {
class HTTPServerRequest;
class HTTPServerResponse;
}  // namespace Poco::Net

namespace exportsync::central::web {

/// One embedded file, as the generated source defines it.
struct EmbeddedFile {
  const char* path;  ///< relative to central/web: "index.html", "assets/app.js"
  const unsigned char* data;
  std::size_t size;
  const char* etag;  ///< quoted, from the file's SHA-256
};

// Defined by the generated source (web_assets_data.cpp in the build tree), sorted by path.
extern const EmbeddedFile kEmbeddedFiles[];
extern const std::size_t kEmbeddedFileCount;

/// A served file.
struct Asset {
  std::string url;  ///< "/" for index.html, else "/" + the relative path
  std::string_view path;
  std::string_view data;
  std::string_view etag;
  std::string_view content_type;
};

/// Every embedded file, in path order.
std::vector<Asset> assets();

/// The file served at `url_path` ("/", "/index.html", "/assets/app.js"), or nullptr.
const Asset* findAsset(std::string_view url_path);

/// The Content-Type for a file name, from its extension.
std::string_view contentTypeFor(std::string_view path);

/// The Content-Security-Policy sent with every file.
extern const char* const kContentSecurityPolicy;

/// Answers a GET or HEAD of an embedded file (304 when If-None-Match matches its ETag). Returns
/// false, having sent nothing, when `url_path` names no file or the method is another one.
bool serveAsset(const std::string& url_path, Poco::Net::HTTPServerRequest& req,
                Poco::Net::HTTPServerResponse& res);

}  // namespace exportsync::central::web
