// The dashboard's static files as a real exportsync-hub serves them, without a browser nor Node:
// "/" and every file it references (HTML src/href, ES module imports, CSS url()), each with its
// status, Content-Type, caching and security headers (CSP without inline scripts, nosniff,
// Referrer-Policy); every embedded file reachable; nothing from another origin; total ≤ 300 KB.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <regex>
#include <set>
#include <string>

#include "sync_test_support.hpp"
#include "web_assets.hpp"

namespace exportsync::synctest {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
namespace web = exportsync::central::web;

constexpr size_t kMaxWeight = 300 * 1024;
const std::string kWebDir = ES_SOURCE_DIR "/central/web";

/// Resolves `ref` ("./x.js", "/assets/y.css", "z.svg") against the URL path `base`.
std::string resolve(const std::string& base, const std::string& ref) {
  if (ref.rfind('/', 0) == 0) {
    return ref;
  }
  std::string dir = base.substr(0, base.rfind('/') + 1);
  std::string rest = ref;
  while (true) {
    if (rest.rfind("./", 0) == 0) {
      rest = rest.substr(2);
    } else if (rest.rfind("../", 0) == 0) {
      rest = rest.substr(3);
      dir = dir.substr(0, dir.rfind('/', dir.size() - 2) + 1);
    } else {
      break;
    }
  }
  return dir + rest;
}

/// Same-origin references of one file.
std::vector<std::string> references(const std::string& url, const std::string& type,
                                    const std::string& body) {
  std::vector<std::string> refs;
  auto collect = [&](const std::regex& re) {
    for (std::sregex_iterator it(body.begin(), body.end(), re), end; it != end; ++it) {
      const std::string ref = (*it)[1];
      if (ref.rfind('#', 0) == 0 || ref.find(':') != std::string::npos) {
        continue;  // in-page anchors; other schemes are checked separately
      }
      refs.push_back(resolve(url, ref));
    }
  };
  if (type.rfind("text/html", 0) == 0) {
    collect(std::regex(R"((?:src|href)=\"([^\"]+)\")"));
  } else if (type.rfind("text/javascript", 0) == 0) {
    collect(std::regex(R"((?:from|import)\s*\(?\s*'(\.{1,2}/[^']+)')"));
  } else if (type.rfind("text/css", 0) == 0) {
    collect(std::regex(R"(url\(\s*['\"]?([^'\")]+))"));
  }
  return refs;
}

class DashboardAssetsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { disableCoreDumps(); }
  void SetUp() override {
    hub_ = std::make_unique<HubProcess>(dir_.sub("hub"));
    ASSERT_TRUE(hub_->start());
  }
  void TearDown() override {
    if (HasFailure() && hub_) {
      std::fprintf(stderr, "%s\n", hub_->logs().c_str());
    }
    hub_.reset();
  }
  // One request without a body on a fresh connection.
  Reply fetch(const std::string& path, const std::string& method = "GET",
              const std::map<std::string, std::string>& headers = {}) {
    return test_support::httpRequest(hub_->port(), method, path, headers, std::nullopt,
                                     "application/json", seconds(30));
  }

  TempDir dir_;
  std::unique_ptr<HubProcess> hub_;
};

TEST_F(DashboardAssetsTest, EveryAssetIsServedWithItsTypeAndSecurityHeaders) {
  // The files of central/web, as cmake/EmbedFiles.cmake picks them.
  std::set<std::string> sources;
  for (const auto& e : fs::recursive_directory_iterator(kWebDir)) {
    const std::string rel = fs::relative(e.path(), kWebDir).generic_string();
    const std::string name = e.path().filename().string();
    if (e.is_regular_file() && rel.find("/.") == std::string::npos && name[0] != '.' &&
        name.back() != '~' && e.path().extension() != ".swp") {
      sources.insert(rel);
    }
  }
  ASSERT_EQ(sources.count("index.html"), 1u);
  std::set<std::string> seen;
  std::vector<std::string> todo{"/"};
  size_t weight = 0;
  while (!todo.empty()) {
    const std::string url = todo.back();
    todo.pop_back();
    if (!seen.insert(url).second) {
      continue;
    }
    const auto r = fetch(url);
    ASSERT_EQ(r.status, 200) << url << ": " << r;
    const std::string type = r.header("Content-Type");
    // The hub serves the files of central/web as they are in the source tree.
    const std::string file = url == "/" ? "index.html" : url.substr(1);
    ASSERT_EQ(sources.count(file), 1u) << url << " is served but not in central/web";
    EXPECT_TRUE(r.body == readFile(kWebDir + "/" + file))
        << url << " differs from central/web/" << file << " (rebuild exportsync-hub)";
    EXPECT_EQ(type, std::string(web::contentTypeFor(file))) << url;
    EXPECT_EQ(std::stoul(r.header("Content-Length")), r.body.size()) << url;
    const std::string csp = r.header("Content-Security-Policy");
    EXPECT_THAT(csp, HasSubstr("default-src 'self'")) << url;
    EXPECT_THAT(csp, HasSubstr("script-src 'self'")) << url;
    EXPECT_THAT(csp, HasSubstr("frame-ancestors 'none'")) << url;
    EXPECT_THAT(csp, Not(HasSubstr("unsafe"))) << url;
    EXPECT_EQ(r.header("X-Content-Type-Options"), "nosniff") << url;
    EXPECT_EQ(r.header("Referrer-Policy"), "no-referrer") << url;
    EXPECT_EQ(r.header("Cache-Control"), "no-cache") << url;
    EXPECT_TRUE(std::regex_match(r.header("ETag"), std::regex("\"[0-9a-f]{20}\""))) << url;
    // Nothing from another origin (CDNs and the like): the offices may be offline.
    for (const char* scheme : {"https://", "http://", "//cdn", "@import"}) {
      std::string rest = r.body;
      for (size_t at = rest.find(scheme); at != std::string::npos; at = rest.find(scheme, at + 1)) {
        EXPECT_EQ(rest.compare(at, 26, "http://www.w3.org/2000/svg"), 0)
            << url << " refers to another origin: " << rest.substr(at, 60);
      }
    }
    weight += r.body.size();
    for (const auto& ref : references(url, type, r.body)) {
      todo.push_back(ref);
    }
  }
  // Every file is reachable from "/" (no dead file adds weight), and the served total stays
  // within the budget.
  for (const auto& f : sources) {
    EXPECT_EQ(seen.count(f == "index.html" ? "/" : "/" + f), 1u)
        << "central/web/" << f << " is referenced by no page";
  }
  EXPECT_EQ(seen.size(), sources.size());
  EXPECT_LE(weight, kMaxWeight) << "the dashboard weighs " << weight << " bytes";
  std::printf("dashboard: %zu files, %zu bytes (budget %zu)\n", seen.size(), weight, kMaxWeight);
}

TEST_F(DashboardAssetsTest, IndexIsFrenchWithoutInlineScriptsOrStyles) {
  const auto r = fetch("/");
  ASSERT_EQ(r.status, 200) << r;
  EXPECT_EQ(r.header("Content-Type"), "text/html; charset=utf-8");
  EXPECT_THAT(r.body, HasSubstr("<html lang=\"fr\""));
  EXPECT_THAT(r.body, HasSubstr("<meta name=\"viewport\""));
  EXPECT_THAT(r.body, HasSubstr("Mot de passe"));
  EXPECT_THAT(r.body, HasSubstr("Indicateurs régionaux"));
  // Every <script> has a src; no inline handler or style attribute (the CSP would block them).
  const std::regex script(R"(<script\b([^>]*)>)");
  for (std::sregex_iterator it(r.body.begin(), r.body.end(), script), end; it != end; ++it) {
    EXPECT_THAT((*it)[1].str(), HasSubstr("src=")) << it->str();
  }
  EXPECT_FALSE(std::regex_search(r.body, std::regex(R"(\son[a-z]+\s*=)"))) << "inline handler";
  EXPECT_FALSE(std::regex_search(r.body, std::regex(R"(\sstyle\s*=)"))) << "style attribute";
  EXPECT_THAT(r.body, Not(HasSubstr("<style")));
  EXPECT_EQ(fetch("/index.html").body, r.body);
}

TEST_F(DashboardAssetsTest, ConditionalRequestsHeadAndUnknownPaths) {
  const auto first = fetch("/assets/app.js");
  ASSERT_EQ(first.status, 200) << first;
  const std::string etag = first.header("ETag");
  ASSERT_EQ(etag.size(), 22u) << etag;  // quoted, 20 hex digits
  const auto again = fetch("/assets/app.js", "GET", {{"If-None-Match", etag}});
  EXPECT_EQ(again.status, 304);
  EXPECT_EQ(again.body, "");
  EXPECT_EQ(again.header("ETag"), etag);
  EXPECT_EQ(fetch("/assets/app.js", "GET", {{"If-None-Match", "W/" + etag + ", \"x\""}}).status,
            304);
  EXPECT_EQ(fetch("/assets/app.js", "GET", {{"If-None-Match", "\"other\""}}).status, 200);

  const auto head = fetch("/", "HEAD");
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.body, "");
  EXPECT_EQ(head.header("Content-Length"), fetch("/").header("Content-Length"));

  // Not assets: the API's JSON 404, and only GET/HEAD serve files.
  for (const char* path : {"/assets/nothing.js", "/assets/../index.html", "/assets/",
                           "/web/index.html", "/assets/app.js/"}) {
    const auto r = fetch(path);
    EXPECT_EQ(r.status, 404) << path << ": " << r;
    EXPECT_EQ(r.str("error"), "not-found") << path;
  }
  EXPECT_EQ(fetch("/", "POST").status, 404);
  EXPECT_EQ(fetch("/assets/app.js", "DELETE").status, 404);
  // The API is unchanged next to the files.
  EXPECT_EQ(fetch("/api/v1/health").status, 200);
  EXPECT_EQ(fetch("/api/v1/session").str("error"), "no-credential");
}

TEST(WebAssets, ContentTypes) {
  EXPECT_EQ(web::contentTypeFor("index.html"), "text/html; charset=utf-8");
  EXPECT_EQ(web::contentTypeFor("assets/app.js"), "text/javascript; charset=utf-8");
  EXPECT_EQ(web::contentTypeFor("assets/app.css"), "text/css; charset=utf-8");
  EXPECT_EQ(web::contentTypeFor("assets/favicon.svg"), "image/svg+xml");
  EXPECT_EQ(web::contentTypeFor("assets/x.bin"), "application/octet-stream");
  EXPECT_NE(web::findAsset("/"), nullptr);
  EXPECT_EQ(web::findAsset("/"), web::findAsset("/index.html"));
  EXPECT_EQ(web::findAsset("/index"), nullptr);
  for (const auto& a : web::assets()) {
    const auto* found = web::findAsset(a.url);
    ASSERT_NE(found, nullptr) << a.url;
    EXPECT_EQ(found->path, a.path);
    EXPECT_EQ(found->data.size(), a.data.size());
  }
}

}  // namespace
}  // namespace exportsync::synctest
