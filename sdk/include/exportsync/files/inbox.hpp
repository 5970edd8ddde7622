// Inbox: files an office drops in a folder, each handed to the plugin exactly once, then moved
// out of the way once the collect run has committed.
//
//   auto stats = files::processInbox(ctx, options, [&](files::InboxFile& file) -> Status {
//     auto cols = files::Columns::resolve(file.header(), {"ICE", "Raison sociale"});
//     if (!cols) { return cols.status(); }        // the whole file goes to rejected/
//     for (const auto& rec : file.records()) {
//       ... on a bad value: file.reject(rec, "ICE", value, "must be 15 digits"); continue;
//       (void)file.upsert(rec, "exporters", row); // a refused row is rejected for you
//     }
//     return Status::ok();
//   });
//   if (!stats) { throw Error(stats.status().message(), stats.status().code()); }
//
// For each regular file of the folder matching the patterns, in name order (hidden files,
// Office lock files `~$…`, temporary files and sub-folders such as done/ and rejected/ are left
// alone):
//  1. its content is read once and hashed (SHA-256); content handed over before (state key
//     `inbox.<sha256>`) is not handed over again, just moved to done/;
//  2. the table is read whole (a fatal read error changes nothing) and handed to the handler;
//     malformed records (wrong field count) are rejected before it sees them;
//  3. the handler writes rows with InboxFile::upsert() and refuses bad ones with reject();
//  4. if at least one row was written: the state key is put in the run's transaction, the file
//     moves to `<inbox>/done/` and, when rows were rejected, `<inbox>/rejected/<file>.errors.csv`
//     lists them (line;column;value;reason, UTF-8 with BOM, `;`-separated for French Excel);
//     otherwise (unreadable, empty, handler refused it, every row rejected) the file moves to
//     `<inbox>/rejected/` whole with `<file>.reason.txt` beside it (and its errors.csv if any).
//     Its content is not remembered, so dropping it again after a fix retries it.
// Moves go through CollectContext::renameAfterCommit: they happen only if the run commits. A
// name already taken in done/ or rejected/ gets a suffix, "ventes (2).csv"; nothing is ever
// overwritten or deleted. done/ and rejected/ are created (0750) when missing. Every rejection
// also goes to ctx.sink().reject(), so the run's report shows it.
//
// Part of ExportSync::files; see docs/plugins/files.md.
//
// THREAD: the collect call's thread. OWNERSHIP: InboxFile and its records belong to
// processInbox() and are valid only during the handler call.
#pragma once

#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "exportsync/files/table.hpp"
#include "exportsync/plugin.hpp"
#include "exportsync/status.hpp"

namespace exportsync::files {

/// Where the inbox is and how its files are read.
struct InboxOptions {
  std::string folder;      ///< absolute path (renameAfterCommit takes absolute paths)
  std::string config_key;  ///< the setting naming the folder, for messages ("plugin.x.inbox")
  /// Shell patterns (case-insensitive) of the files to take.
  std::vector<std::string> patterns{"*.csv", "*.xlsx"};
  TableOptions table;  ///< how files are read; the format follows the extension
  /// Files modified less than this many seconds ago are left for the next run (they may still
  /// be being copied, e.g. over a network share). 0 takes every file.
  uint32_t min_age_seconds = 0;
};

/// What one processInbox() call did.
struct InboxStats {
  uint64_t files = 0;           ///< files read (handed over or refused)
  uint64_t files_done = 0;      ///< moving to done/ with their rows
  uint64_t files_rejected = 0;  ///< moving to rejected/ whole
  uint64_t files_skipped = 0;   ///< content handed over before; moving to done/ untouched
  uint64_t rows_accepted = 0;   ///< records written and not rejected
  uint64_t rows_rejected = 0;   ///< records rejected (distinct lines)
};

/// One inbox file being handed over: its records and the way to write or refuse them.
class InboxFile {
 public:
  /// Built by processInbox() (and by tests). `records` are the well-formed records.
  InboxFile(CollectContext& ctx, std::string name, std::string path, std::string sha256,
            Header header, std::vector<Record> records);

  [[nodiscard]] const std::string& name() const { return name_; }  ///< file name in the inbox
  [[nodiscard]] const std::string& path() const { return path_; }  ///< absolute path
  [[nodiscard]] const std::string& sha256() const { return sha256_; }
  [[nodiscard]] const Header& header() const { return header_; }
  /// The well-formed data records, in file order.
  [[nodiscard]] const std::vector<Record>& records() const { return records_; }

  /// Writes `row` into `dataset` for `record` through ctx.sink(). When the agent refuses the
  /// row, the record is rejected with the agent's reason and that reason is returned.
  [[nodiscard]] Status upsert(const Record& record, std::string_view dataset, const Row& row);
  /// Refuses `record`: reported to ctx.sink().reject() and listed in the file's errors.csv.
  /// `column` and `value` may be empty when the whole record is at fault.
  void reject(const Record& record, std::string column, std::string value, std::string reason);

  /// Records with at least one row written (whether rejected later or not).
  [[nodiscard]] uint64_t rowsWritten() const { return written_.size(); }
  [[nodiscard]] uint64_t rowsAccepted() const;
  [[nodiscard]] uint64_t rowsRejected() const { return rejected_lines_.size(); }
  /// Every rejection so far, in order.
  [[nodiscard]] const std::vector<Rejection>& rejections() const { return rejections_; }

 private:
  CollectContext* ctx_;
  std::string name_;
  std::string path_;
  std::string sha256_;
  Header header_;
  std::vector<Record> records_;
  std::vector<Rejection> rejections_;
  std::set<uint64_t> written_;
  std::set<uint64_t> rejected_lines_;
};

/// Handles one file. Return OK when done (even with rejected rows); return an error, before
/// writing any row, to refuse the whole file (e.g. a required column is missing): its message
/// becomes the file's reason.txt. Throwing fails the run (rolled back, nothing moved).
using InboxHandler = std::function<Status(InboxFile& file)>;

/// Processes the inbox as described at the top of this file.
/// Returns: the counts; Code::Config when the folder is not absolute or cannot be read (naming
/// options.config_key), Code::Io when done/, rejected/ or a report cannot be written or the state
/// cannot be saved, Code::Cancelled when the agent asked to stop, Code::Internal when a handler
/// refused a file after writing rows from it. On any error, fail the run (throw) so it rolls
/// back: rows of earlier files may have been written.
/// THREAD: the collect call's thread.
[[nodiscard]] Result<InboxStats> processInbox(CollectContext& ctx, const InboxOptions& options,
                                              const InboxHandler& handler);

/// Whether processInbox() would look at a file called `name` (patterns, hidden, temporary).
bool isInboxCandidate(std::string_view name, const std::vector<std::string>& patterns);

/// SHA-256 of `bytes`, lower-case hex.
std::string sha256Hex(std::string_view bytes);

}  // namespace exportsync::files
