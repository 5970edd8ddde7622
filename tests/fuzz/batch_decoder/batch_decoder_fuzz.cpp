// libFuzzer target for the batch decoder; see batch_decoder_fuzz.hpp.
#include "batch_decoder_fuzz.hpp"

#include <cstdio>
#include <cstdlib>
#include <string>

#include "payload.hpp"

namespace exportsync::protocol::fuzz {
namespace {

[[noreturn]] void die(const char* what, const std::string& detail) {
  std::fprintf(stderr, "batch_decoder fuzz: %s: %s\n", what, detail.c_str());
  std::abort();
}

bool sameBatch(const Batch& a, const Batch& b) {
  const auto& x = a.header;
  const auto& y = b.header;
  if (x.agent_id != y.agent_id || x.incarnation != y.incarnation || x.region != y.region ||
      x.base_seq != y.base_seq || x.first_seq != y.first_seq || x.last_seq != y.last_seq ||
      x.ends_transaction != y.ends_transaction || x.row_count != y.row_count ||
      x.datasets.size() != y.datasets.size() || a.changes.size() != b.changes.size()) {
    return false;
  }
  for (size_t d = 0; d < x.datasets.size(); ++d) {
    const auto& p = x.datasets[d];
    const auto& q = y.datasets[d];
    if (p.plugin != q.plugin || p.name != q.name || p.version != q.version ||
        p.columns.size() != q.columns.size()) {
      return false;
    }
    for (size_t c = 0; c < p.columns.size(); ++c) {
      const auto& u = p.columns[c];
      const auto& v = q.columns[c];
      if (u.name != v.name || u.type != v.type || u.key != v.key || u.nullable != v.nullable) {
        return false;
      }
    }
  }
  for (size_t i = 0; i < a.changes.size(); ++i) {
    const auto& u = a.changes[i];
    const auto& v = b.changes[i];
    if (u.seq != v.seq || u.dataset != v.dataset || u.op != v.op || u.values != v.values) {
      return false;
    }
  }
  return true;
}

// What decodes must encode again (the encoder accepts everything the decoder does) and decode to
// the same batch.
void requireRoundTrip(const Batch& batch) {
  auto wire = encodeBatch(batch, 1);
  if (!wire) {
    die("a decoded batch does not re-encode", wire.status().message());
  }
  auto again = decodeBatch(*wire, Limits{});
  if (!again) {
    die("a re-encoded batch does not decode", again.status().message());
  }
  if (!sameBatch(batch, *again)) {
    die("a re-encoded batch decodes differently", "round trip mismatch");
  }
}

void requireReason(const Status& status) {
  if (status.code() != Code::Invalid || status.message().rfind("batch: ", 0) != 0) {
    die("a refusal without a 'batch: ' reason", status.message());
  }
}

}  // namespace

Limits fuzzLimits() {
  Limits limits;
  limits.max_compressed = 1u << 20;
  limits.max_decompressed = 4u << 20;
  limits.max_rows = 4096;
  limits.max_field = 1u << 16;
  limits.max_datasets = 8;
  limits.max_columns = 32;
  limits.max_values = 1u << 16;
  return limits;
}

bool checkBatch(std::string_view bytes) {
  auto batch = decodeBatch(bytes, fuzzLimits());
  if (!batch) {
    requireReason(batch.status());
    return false;
  }
  requireRoundTrip(*batch);
  return true;
}

bool checkPayload(std::string_view bytes) {
  auto batch = internal::decodePayload(bytes, fuzzLimits());
  if (!batch) {
    requireReason(batch.status());
    return false;
  }
  requireRoundTrip(*batch);
  return true;
}

}  // namespace exportsync::protocol::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  (void)exportsync::protocol::fuzz::checkBatch(bytes);
  (void)exportsync::protocol::fuzz::checkPayload(bytes);
  return 0;
}
