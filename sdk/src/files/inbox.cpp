#include "exportsync/files/inbox.hpp"

#include <Poco/DigestEngine.h>
#include <dirent.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <new>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "exportsync/files/csv.hpp"
#include "internal.hpp"

namespace exportsync::files {
namespace {

constexpr char kBom[] = "\xEF\xBB\xBF";

std::string lowerAscii(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
  }
  return out;
}

bool endsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

bool exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

// "ventes.csv", 2 → "ventes (2).csv", as Windows Explorer names copies.
std::string withSuffix(const std::string& name, int n) {
  const size_t dot = name.rfind('.');
  const std::string tag = " (" + std::to_string(n) + ")";
  if (dot == std::string::npos || dot == 0) {
    return name + tag;
  }
  return name.substr(0, dot) + tag + name.substr(dot);
}

// Cells Excel would run as formulas ("=HYPERLINK(…)") are shown as text.
std::string excelSafe(const std::string& value) {
  if (value.empty()) {
    return value;
  }
  const char c = value[0];
  bool risky = c == '=' || c == '+' || c == '@' || c == '\t' || c == '\r';
  if (c == '-') {
    risky = value.size() == 1 ||
            value.find_first_not_of("0123456789.,", 1) != std::string::npos;  // not "-12,5"
  }
  return risky ? "'" + value : value;
}

Status writeFileDurably(const std::string& path, const std::string& content) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0640);
  if (fd < 0) {
    return Status::io("cannot write '" + path + "': " + internal::errnoText(errno) +
                      "; let the agent write in that folder");
  }
  size_t done = 0;
  int error = 0;
  while (done < content.size() && error == 0) {
    const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n > 0) {
      done += static_cast<size_t>(n);
    } else if (n == 0 || errno != EINTR) {
      error = n == 0 ? EIO : errno;
    }
  }
  if (error == 0 && ::fsync(fd) != 0) {
    error = errno;
  }
  if (::close(fd) != 0 && error == 0) {
    error = errno;
  }
  if (error != 0) {
    return Status::io("cannot write '" + path + "': " + internal::errnoText(error));
  }
  return Status::ok();
}

Status ensureFolder(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) {
      return Status::ok();
    }
    return Status::io("'" + path +
                      "' exists but is not a folder; move it away so the inbox can "
                      "use that name");
  }
  if (::mkdir(path.c_str(), 0750) != 0 && errno != EEXIST) {
    return Status::io("cannot create folder '" + path + "': " + internal::errnoText(errno) +
                      "; create it (mode 0750) or let the agent write in the inbox");
  }
  ::chmod(path.c_str(), 0750);  // whatever the umask
  return Status::ok();
}

// The rejections in line order, as the office reads its file.
std::string errorsCsv(std::vector<Rejection> rejections) {
  std::stable_sort(rejections.begin(), rejections.end(),
                   [](const Rejection& a, const Rejection& b) { return a.line < b.line; });
  std::string out = kBom;
  out += "line;column;value;reason\r\n";
  for (const auto& r : rejections) {
    out += std::to_string(r.line) + ";" + quoteCsvField(excelSafe(r.column), ';') + ";" +
           quoteCsvField(excelSafe(r.value), ';') + ";" + quoteCsvField(r.reason, ';') + "\r\n";
  }
  return out;
}

// Runs one processInbox() call.
class InboxRun {
 public:
  InboxRun(CollectContext& ctx, const InboxOptions& options, const InboxHandler& handler)
      : ctx_(ctx), options_(options), handler_(handler) {}

  Result<InboxStats> run() {
    folder_ = options_.folder;
    while (folder_.size() > 1 && folder_.back() == '/') {
      folder_.pop_back();
    }
    const std::string key = options_.config_key.empty()
                                ? "the inbox setting"
                                : "config key '" + options_.config_key + "'";
    if (folder_.empty() || folder_[0] != '/') {
      return Status::config("inbox folder '" + options_.folder + "' is not an absolute path; set " +
                            key + " to a path starting with /");
    }
    std::vector<std::string> names;
    if (auto st = list(key, names); !st) {
      return st;
    }
    if (names.empty()) {
      return stats_;
    }
    done_ = folder_ + "/done";
    rejected_ = folder_ + "/rejected";
    if (auto st = ensureFolder(done_); !st) {
      return st;
    }
    if (auto st = ensureFolder(rejected_); !st) {
      return st;
    }
    for (const auto& name : names) {
      if (ctx_.cancelled()) {
        return Status::cancelled("inbox '" + folder_ +
                                 "': the agent asked to stop; the run is rolled back");
      }
      if (auto st = processFile(name); !st) {
        return st;
      }
    }
    return stats_;
  }

 private:
  Status list(const std::string& key, std::vector<std::string>& names) {
    DIR* dir = ::opendir(folder_.c_str());
    if (dir == nullptr) {
      return Status::config("inbox folder '" + folder_ +
                            "' cannot be opened: " + internal::errnoText(errno) +
                            "; create it, let the agent read it, or fix " + key);
    }
    const time_t now = ::time(nullptr);
    // readdir() is safe on a stream no other thread uses (readdir_r is deprecated).
    while (const dirent* e = ::readdir(dir)) {  // NOLINT(concurrency-mt-unsafe)
      const std::string name = e->d_name;
      if (!isInboxCandidate(name, options_.patterns)) {
        continue;
      }
      struct stat st {};
      if (::lstat((folder_ + "/" + name).c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
        continue;  // sub-folders (done/, rejected/), links, devices
      }
      if (options_.min_age_seconds > 0 && now - st.st_mtime < options_.min_age_seconds) {
        ctx_.log().debug("inbox: '" + name + "' changed less than " +
                         std::to_string(options_.min_age_seconds) + " s ago; next run");
        continue;
      }
      names.push_back(name);
    }
    ::closedir(dir);
    std::sort(names.begin(), names.end());
    return Status::ok();
  }

  bool taken(const std::string& path) const { return planned_.count(path) != 0 || exists(path); }

  // A name free in done/ and rejected/, for the file and its reports.
  Result<std::string> uniqueBase(const std::string& name) {
    for (int n = 1; n < 10000; ++n) {
      const std::string base = n == 1 ? name : withSuffix(name, n);
      const std::string targets[] = {done_ + "/" + base, rejected_ + "/" + base,
                                     rejected_ + "/" + base + ".errors.csv",
                                     rejected_ + "/" + base + ".reason.txt"};
      if (std::none_of(std::begin(targets), std::end(targets),
                       [this](const std::string& t) { return taken(t); })) {
        planned_.insert(std::begin(targets), std::end(targets));
        return base;
      }
    }
    return Status::io("inbox '" + folder_ + "': no free name for '" + name +
                      "' in done/ or rejected/ after 9999 tries; archive old files from there");
  }

  // Writes `content` to a hidden temporary file in rejected/, renamed to `final_name` at commit.
  Status placeReport(const std::string& final_name, const std::string& content) {
    const std::string temp = rejected_ + "/." + final_name + ".tmp";
    if (auto st = writeFileDurably(temp, content); !st) {
      return st;
    }
    return ctx_.renameAfterCommit(temp, rejected_ + "/" + final_name);
  }

  Status moveAfterCommit(const std::string& name, const std::string& folder,
                         const std::string& base) {
    return ctx_.renameAfterCommit(folder_ + "/" + name, folder + "/" + base);
  }

  // The whole file goes to rejected/, with its reason (and its rejected rows, if any).
  Status refuseFile(const std::string& name, const std::string& reason,
                    const std::vector<Rejection>& rejections) {
    auto base = uniqueBase(name);
    if (!base) {
      return base.status();
    }
    if (auto st = placeReport(*base + ".reason.txt", kBom + reason + "\r\n"); !st) {
      return st;
    }
    if (!rejections.empty()) {
      if (auto st = placeReport(*base + ".errors.csv", errorsCsv(rejections)); !st) {
        return st;
      }
    }
    if (auto st = moveAfterCommit(name, rejected_, *base); !st) {
      return st;
    }
    ctx_.sink().reject({name, 0, "", "", reason});
    ctx_.log().warning("inbox: '" + name + "' refused, moving to rejected/" + *base +
                       " after commit: " + reason);
    ++stats_.files_rejected;
    return Status::ok();
  }

  Status processFile(const std::string& name) {
    const std::string path = folder_ + "/" + name;
    auto format = formatForPath(name);
    if (!format) {
      ++stats_.files;
      return refuseFile(name, format.status().message(), {});
    }
    std::string bytes;
    if (auto st =
            internal::readFileBounded(path, options_.table.limits.max_file_bytes, name, bytes);
        !st) {
      ++stats_.files;
      return refuseFile(name, st.message(), {});
    }
    const std::string hash = sha256Hex(bytes);
    const std::string state_key = "inbox." + hash;
    if (handed_.count(hash) != 0 || ctx_.state().get(state_key)) {
      return skipKnown(name, hash, state_key);
    }
    ++stats_.files;
    auto table = openTableFromBytes(std::move(bytes), *format, name, options_.table);
    if (!table) {
      return refuseFile(name, table.status().message(), {});
    }
    auto records = readAll(**table);
    if (!records) {
      return refuseFile(name, records.status().message(), {});
    }
    if (records->empty()) {
      return refuseFile(name,
                        "file '" + name + "' has a header (line " +
                            std::to_string((*table)->header().line()) +
                            ") but no data rows below it; nothing to import",
                        {});
    }
    std::vector<Record> good;
    std::vector<Record> malformed;
    for (auto& rec : *records) {
      (rec.ok() ? good : malformed).push_back(std::move(rec));
    }
    const uint64_t total = good.size() + malformed.size();
    InboxFile file(ctx_, name, path, hash, (*table)->header(), std::move(good));
    for (const auto& rec : malformed) {
      std::string value;
      for (const auto& f : rec.fields) {
        value += (value.empty() ? "" : " | ") + f;
      }
      if (value.size() > 300) {
        size_t cut = 300;
        while (cut > 0 && (static_cast<unsigned char>(value[cut]) & 0xC0) == 0x80) {
          --cut;  // not inside a UTF-8 sequence
        }
        value = value.substr(0, cut) + "…";
      }
      file.reject(rec, "", std::move(value), rec.problem);
    }
    const Status handled = file.records().empty() ? Status::ok() : handler_(file);
    if (!handled && file.rowsWritten() > 0) {
      return Status::internal("inbox: the handler refused '" + name + "' (" + handled.message() +
                              ") after writing " + std::to_string(file.rowsWritten()) +
                              " rows from it; refuse a file before writing rows. The run must be "
                              "rolled back");
    }
    stats_.rows_rejected += file.rowsRejected();
    if (!handled) {
      return refuseFile(name, handled.message(), file.rejections());
    }
    if (file.rowsWritten() == 0) {
      const std::string reason =
          file.rowsRejected() == total
              ? "all " + std::to_string(total) + " rows of '" + name +
                    "' were rejected; see the .errors.csv file beside this one, correct the "
                    "rows and drop the file again"
              : "no row of '" + name + "' was imported (" + std::to_string(total) + " read, " +
                    std::to_string(file.rowsRejected()) + " rejected)";
      return refuseFile(name, reason, file.rejections());
    }
    return finishFile(file, state_key);
  }

  Status finishFile(const InboxFile& file, const std::string& state_key) {
    const std::string& name = file.name();
    if (auto st = ctx_.state().put(state_key,
                                   "done " + name + " rows=" + std::to_string(file.rowsAccepted()) +
                                       " rejected=" + std::to_string(file.rowsRejected()));
        !st) {
      return st.withContext("inbox: cannot remember '" + name + "' as handed over");
    }
    handed_.insert(file.sha256());
    auto base = uniqueBase(name);
    if (!base) {
      return base.status();
    }
    if (!file.rejections().empty()) {
      if (auto st = placeReport(*base + ".errors.csv", errorsCsv(file.rejections())); !st) {
        return st;
      }
    }
    if (auto st = moveAfterCommit(name, done_, *base); !st) {
      return st;
    }
    ctx_.log().info(
        "inbox: '" + name + "': " + std::to_string(file.rowsAccepted()) + " rows accepted, " +
        std::to_string(file.rowsRejected()) + " rejected; moving to done/" + *base +
        " after commit" +
        (file.rejections().empty() ? "" : ", errors in rejected/" + *base + ".errors.csv"));
    ++stats_.files_done;
    stats_.rows_accepted += file.rowsAccepted();
    return Status::ok();
  }

  // Content handed over before (or twice in this run): moved to done/ without importing again.
  Status skipKnown(const std::string& name, const std::string& hash, const std::string& state_key) {
    auto base = uniqueBase(name);
    if (!base) {
      return base.status();
    }
    if (auto st = moveAfterCommit(name, done_, *base); !st) {
      return st;
    }
    const auto before = ctx_.state().get(state_key);
    ctx_.log().notice("inbox: '" + name + "' has the same content (sha256 " + hash.substr(0, 12) +
                      "…) as a file already imported" +
                      (before ? " (" + *before + ")" : std::string(" in this run")) +
                      "; not imported again, moving to done/" + *base);
    ++stats_.files_skipped;
    return Status::ok();
  }

  CollectContext& ctx_;
  const InboxOptions& options_;
  const InboxHandler& handler_;
  InboxStats stats_;
  std::string folder_;
  std::string done_;
  std::string rejected_;
  std::set<std::string> planned_;  // targets of renames planned in this run
  std::set<std::string> handed_;   // hashes handed over in this run
};

}  // namespace

InboxFile::InboxFile(CollectContext& ctx, std::string name, std::string path, std::string sha256,
                     Header header, std::vector<Record> records)
    : ctx_(&ctx),
      name_(std::move(name)),
      path_(std::move(path)),
      sha256_(std::move(sha256)),
      header_(std::move(header)),
      records_(std::move(records)) {}

Status InboxFile::upsert(const Record& record, std::string_view dataset, const Row& row) {
  Status st = ctx_->sink().upsert(dataset, row);
  if (!st) {
    reject(record, "", "", st.message());
    return st;
  }
  written_.insert(record.line);
  return st;
}

void InboxFile::reject(const Record& record, std::string column, std::string value,
                       std::string reason) {
  Rejection r{name_, record.line, std::move(column), std::move(value), std::move(reason)};
  ctx_->sink().reject(r);
  rejected_lines_.insert(record.line);
  rejections_.push_back(std::move(r));
}

uint64_t InboxFile::rowsAccepted() const {
  uint64_t n = 0;
  for (uint64_t line : written_) {
    n += rejected_lines_.count(line) == 0 ? 1 : 0;
  }
  return n;
}

bool isInboxCandidate(std::string_view name, const std::vector<std::string>& patterns) {
  if (name.empty() || name[0] == '.' || name[0] == '~') {
    return false;  // hidden files, Office lock files (~$ventes.xlsx)
  }
  const std::string lower = lowerAscii(name);
  for (const char* temp : {"~", ".tmp", ".temp", ".part", ".partial", ".crdownload", ".swp"}) {
    if (endsWith(lower, temp)) {
      return false;
    }
  }
  const std::string n(name);
  for (const auto& p : patterns) {
    if (::fnmatch(p.c_str(), n.c_str(), FNM_CASEFOLD | FNM_PERIOD) == 0) {
      return true;
    }
  }
  return false;
}

std::string sha256Hex(std::string_view bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), digest, &size, EVP_sha256(), nullptr) != 1 ||
      size != 32) {
    throw std::bad_alloc();  // EVP_Digest fails only when it cannot allocate its context
  }
  return Poco::DigestEngine::digestToHex(Poco::DigestEngine::Digest(digest, digest + size));
}

Result<InboxStats> processInbox(CollectContext& ctx, const InboxOptions& options,
                                const InboxHandler& handler) {
  InboxRun run(ctx, options, handler);
  return run.run();
}

}  // namespace exportsync::files
