#include "exportsync/agent/batch_builder.hpp"

#include <charconv>
#include <future>
#include <system_error>

namespace exportsync::agent {
namespace {

// Batches of at least this many changes read their row images on two threads.
constexpr size_t kParallelParseRows = 2000;

// A cursor over one JSON text. Only what the capture triggers produce is accepted: an array of
// strings, numbers and nulls.
class JsonScalars {
 public:
  explicit JsonScalars(std::string_view s) : s_(s) {}

  bool open() {
    skipWs();
    return take('[');
  }
  // Reads the next element; false at ']' (done) or on a syntax error (error() tells). `value`
  // is the element's text: a view of the image itself, or of `scratch` for a string with
  // escapes; valid until the next call.
  bool next(std::string_view& value, std::string& scratch, bool& is_string, bool& is_null) {
    skipWs();
    if (pos_ < s_.size() && s_[pos_] == ']') {
      ++pos_;
      done_ = true;
      return false;
    }
    if (count_ > 0 && !take(',')) {
      return fail("expected ','");
    }
    skipWs();
    ++count_;
    value = {};
    is_string = false;
    is_null = false;
    if (pos_ >= s_.size()) {
      return fail("unexpected end");
    }
    if (s_[pos_] == '"') {
      is_string = true;
      return readString(value, scratch);
    }
    if (s_.compare(pos_, 4, "null") == 0) {
      pos_ += 4;
      is_null = true;
      return true;
    }
    const size_t start = pos_;
    while (pos_ < s_.size() && isNumberChar(s_[pos_])) {
      ++pos_;
    }
    if (pos_ == start) {
      return fail("unexpected character");
    }
    value = s_.substr(start, pos_ - start);
    return true;
  }
  bool done() const { return done_; }
  const std::string& error() const { return error_; }

 private:
  static bool isNumberChar(char c) {
    return (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E';
  }
  void skipWs() {
    while (pos_ < s_.size() &&
           (s_[pos_] == ' ' || s_[pos_] == '\n' || s_[pos_] == '\t' || s_[pos_] == '\r')) {
      ++pos_;
    }
  }
  bool take(char c) {
    if (pos_ < s_.size() && s_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  bool fail(const char* why) {
    error_ = why;
    return false;
  }
  static void appendUtf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }
  bool hex4(uint32_t& out) {
    if (pos_ + 4 > s_.size()) {
      return false;
    }
    out = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = s_[pos_++];
      out <<= 4;
      if (c >= '0' && c <= '9') {
        out |= static_cast<uint32_t>(c - '0');
      } else if (c >= 'a' && c <= 'f') {
        out |= static_cast<uint32_t>(c - 'a' + 10);
      } else if (c >= 'A' && c <= 'F') {
        out |= static_cast<uint32_t>(c - 'A' + 10);
      } else {
        return false;
      }
    }
    return true;
  }
  bool readString(std::string_view& value, std::string& out) {
    ++pos_;  // opening quote
    bool escaped = false;
    for (;;) {
      // A plain scan: find_first_of looks every character up in the set with a call of its
      // own, which made it the costliest part of reading row images.
      size_t run = pos_;
      while (run < s_.size() && s_[run] != '"' && s_[run] != '\\') {
        ++run;
      }
      if (run == s_.size()) {
        return fail("unterminated string");
      }
      if (!escaped && s_[run] == '"') {  // the common case: no escape, no copy
        value = s_.substr(pos_, run - pos_);
        pos_ = run + 1;
        return true;
      }
      if (!escaped) {
        out.clear();
        escaped = true;
      }
      out.append(s_.substr(pos_, run - pos_));
      pos_ = run;
      if (s_[pos_] == '"') {
        ++pos_;
        value = out;
        return true;
      }
      if (++pos_ >= s_.size()) {
        return fail("bad escape");
      }
      const char e = s_[pos_++];
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          uint32_t cp = 0;
          if (!hex4(cp)) {
            return fail("bad \\u escape");
          }
          if (cp >= 0xD800 && cp <= 0xDBFF && pos_ + 6 <= s_.size() && s_[pos_] == '\\' &&
              s_[pos_ + 1] == 'u') {
            pos_ += 2;
            uint32_t lo = 0;
            if (!hex4(lo) || lo < 0xDC00 || lo > 0xDFFF) {
              return fail("bad surrogate pair");
            }
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          }
          appendUtf8(out, cp);
          break;
        }
        default: return fail("bad escape");
      }
    }
  }

  std::string_view s_;
  size_t pos_ = 0;
  size_t count_ = 0;
  bool done_ = false;
  std::string error_;
};

// The whole text is the number, in range: no sign '+', no space. Integers within 64 bits; reals
// as strtod reads them (the shortest round-trip text the store writes, or SQLite's '%!.17g').
template <typename T>
bool parseWhole(std::string_view s, T& out) {
  const auto r = std::from_chars(s.data(), s.data() + s.size(), out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size() && !s.empty();
}

}  // namespace

Status parseImage(std::string_view json, const std::vector<const Column*>& columns,
                  std::vector<Value>& out) {
  out.clear();
  out.reserve(columns.size());
  JsonScalars in(json);
  if (!in.open()) {
    return Status::invalid("row image is not a JSON array");
  }
  std::string_view text;
  std::string scratch;
  bool is_string = false;
  bool is_null = false;
  size_t i = 0;
  while (in.next(text, scratch, is_string, is_null)) {
    if (i >= columns.size()) {
      return Status::invalid("row image has more values than the dataset's " +
                             std::to_string(columns.size()) + " columns");
    }
    const Column& c = *columns[i++];
    auto bad = [&c, &text](const char* what) {
      return Status::invalid("column '" + c.name + "': '" + std::string(text) + "' is not " + what);
    };
    if (is_null) {
      out.emplace_back();
      continue;
    }
    switch (c.type) {
      case ColumnType::Text:
        // A plain-SQL write of a number into a text column is text all the same.
        out.emplace_back(std::string(text));
        break;
      case ColumnType::Integer:
      case ColumnType::Money:
      case ColumnType::Boolean: {
        int64_t v = 0;
        if (!parseWhole(text, v)) {
          return bad("an integer");
        }
        if (c.type == ColumnType::Integer) {
          out.emplace_back(static_cast<long long>(v));
        } else if (c.type == ColumnType::Money) {
          out.emplace_back(Money::fromCentimes(v));
        } else {
          out.emplace_back(v != 0);
        }
        break;
      }
      case ColumnType::Real: {
        double v = 0;
        if (!parseWhole(text, v)) {
          return bad("a real number");
        }
        out.emplace_back(v);
        break;
      }
      case ColumnType::Date: {
        auto d = Date::parseIso(text);
        if (!d) {
          return bad("a date YYYY-MM-DD");
        }
        out.emplace_back(*d);
        break;
      }
      case ColumnType::Timestamp: {
        auto t = Timestamp::parseIso(text);
        if (!t) {
          return bad("a timestamp YYYY-MM-DDTHH:MM:SSZ");
        }
        out.emplace_back(*t);
        break;
      }
    }
  }
  if (!in.done()) {
    return Status::invalid("row image is not valid JSON: " + in.error());
  }
  if (i != columns.size()) {
    return Status::invalid("row image has " + std::to_string(i) + " values, the dataset " +
                           std::to_string(columns.size()) + " columns");
  }
  return Status::ok();
}

BatchBuilder::BatchBuilder(Store& store, std::string agent_id, std::string region)
    : store_(store), agent_id_(std::move(agent_id)), region_(std::move(region)) {}

Status BatchBuilder::refreshDatasets() {
  auto all = store_.datasets();
  if (!all) {
    return all.status();
  }
  datasets_.clear();
  for (auto& d : *all) {
    const int64_t id = d.id;
    datasets_.emplace(id, std::move(d));
  }
  return Status::ok();
}

Result<std::optional<protocol::Batch>> BatchBuilder::next(int64_t acked, size_t max_rows) {
  if (max_rows == 0) {
    max_rows = 1;
  }
  // One extra change tells whether the last transaction continues.
  auto changes = store_.changesAfter(acked, max_rows + 1);
  if (!changes) {
    return changes.status();
  }
  auto& list = *changes;
  if (list.empty()) {
    return std::optional<protocol::Batch>();
  }
  bool ends_transaction = true;
  if (list.size() > max_rows) {
    size_t cut = max_rows;  // keep [0, cut)
    while (cut > 0 && list[cut - 1].txn == list[cut].txn) {
      --cut;
    }
    if (cut == 0) {
      cut = max_rows;  // one transaction alone is larger than a batch: split it
      ends_transaction = false;
    }
    list.resize(cut);
  }
  protocol::Batch batch;
  auto& h = batch.header;
  h.agent_id = agent_id_;
  h.incarnation = store_.incarnation();
  h.region = region_;
  h.base_seq = acked;
  h.first_seq = list.front().seq;
  h.last_seq = list.back().seq;
  h.ends_transaction = ends_transaction;
  h.row_count = list.size();

  std::map<int64_t, uint32_t> index;  // store dataset id → batch dataset index
  std::vector<std::vector<const Column*>> all_cols;
  std::vector<std::vector<const Column*>> key_cols;
  batch.changes.reserve(list.size());
  for (const auto& c : list) {
    auto it = index.find(c.dataset_id);
    if (it == index.end()) {
      if (datasets_.count(c.dataset_id) == 0) {
        if (auto st = refreshDatasets(); !st) {
          return st;
        }
      }
      auto ds = datasets_.find(c.dataset_id);
      if (ds == datasets_.end()) {
        return Status::internal("change " + std::to_string(c.seq) + " names unknown dataset " +
                                std::to_string(c.dataset_id));
      }
      protocol::DatasetDescriptor d;
      d.plugin = ds->second.plugin;
      d.name = ds->second.spec.name;
      d.version = ds->second.spec.version;
      d.columns = ds->second.spec.columns;
      h.datasets.push_back(std::move(d));
      it = index.emplace(c.dataset_id, static_cast<uint32_t>(h.datasets.size() - 1)).first;
      all_cols.emplace_back();
      key_cols.emplace_back();
    }
    const uint32_t di = it->second;
    // Column pointers into the batch's own descriptor (stable: no more push_back on it below
    // for this index).
    auto& desc = h.datasets[di];
    if (all_cols[di].empty()) {
      for (const auto& col : desc.columns) {
        all_cols[di].push_back(&col);
        if (col.key) {
          key_cols[di].push_back(&col);
        }
      }
    }
    protocol::ChangeRecord rec;
    rec.seq = c.seq;
    rec.dataset = di;
    rec.op = c.op == 'D' ? protocol::Op::Delete
                         : (c.op == 'U' ? protocol::Op::Update : protocol::Op::Insert);
    batch.changes.push_back(std::move(rec));
  }
  // The images are read into values in two halves at once when there are many: on a link that
  // keeps up, reading them is most of an agent's part of a sync.
  const std::string no_row;
  auto parseRange = [&](size_t from, size_t to) -> Status {
    for (size_t i = from; i < to; ++i) {
      auto& rec = batch.changes[i];
      const bool is_delete = rec.op == protocol::Op::Delete;
      const std::string& image = is_delete ? list[i].key : (list[i].row ? *list[i].row : no_row);
      const auto& cols = is_delete ? key_cols[rec.dataset] : all_cols[rec.dataset];
      if (auto st = parseImage(image, cols, rec.values); !st) {
        const auto& desc = h.datasets[rec.dataset];
        return st.withContext("change " + std::to_string(rec.seq) + " of " + desc.plugin + "/" +
                              desc.name);
      }
    }
    return Status::ok();
  };
  const size_t n = batch.changes.size();
  std::future<Status> first;
  if (n >= kParallelParseRows) {
    try {
      first = std::async(std::launch::async, parseRange, size_t{0}, n / 2);
    } catch (const std::system_error&) {
      // no second thread to be had: one does it all
    }
  }
  if (first.valid()) {
    const Status second = parseRange(n / 2, n);
    if (auto st = first.get(); !st) {
      return st;  // the first failure in seq order
    }
    if (!second) {
      return second;
    }
  } else if (auto st = parseRange(0, n); !st) {
    return st;
  }
  return std::optional<protocol::Batch>(std::move(batch));
}

}  // namespace exportsync::agent
