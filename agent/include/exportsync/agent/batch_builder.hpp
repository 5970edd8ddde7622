// Turns the store's change log into protocol batches: reads the changes after the hub's mark
// (one short read, never across network I/O), parses the row images, and cuts the batch only
// between store transactions unless a single transaction alone exceeds the row budget (then
// the header says it continues).
//
// THREAD: one thread (it borrows a Store). OWNERSHIP: returns values.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "exportsync/agent/store.hpp"
#include "exportsync/protocol/batch.hpp"

namespace exportsync::agent {

/// Parses a row image or key (a JSON array of scalars, as the capture triggers write it) into
/// values typed by `columns`. The reason of a failure names the column.
Status parseImage(std::string_view json, const std::vector<const Column*>& columns,
                  std::vector<Value>& out);

class BatchBuilder {
 public:
  BatchBuilder(Store& store, std::string agent_id, std::string region);

  /// The next batch after `acked`, at most `max_rows` changes (more only never: a larger
  /// transaction is split with ends_transaction = false). nullopt when nothing waits.
  Result<std::optional<protocol::Batch>> next(int64_t acked, size_t max_rows);

 private:
  Status refreshDatasets();
  Store& store_;
  std::string agent_id_;
  std::string region_;
  std::map<int64_t, StoredDataset> datasets_;
};

}  // namespace exportsync::agent
