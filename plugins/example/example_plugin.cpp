// The example plugin: small, and uses every SDK feature, for tests and as documentation.
//
// Datasets: `items` (one column of each type) and `runs` (one row per collect run).
// Config (agent.properties, keys plugin.example.*):
//   rows    how many synthetic items to write per run (default 10, 0..1000000)
//   inbox   optional folder of `*.csv` files "id;label;quantity;price" (price like 12,50):
//           good lines become items, bad lines are rejected with their line number, and each
//           file moves to <inbox>/done/ once the run has committed.
#include <dirent.h>
#include <sys/stat.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "exportsync/plugin.hpp"

namespace {

using exportsync::CollectContext;
using exportsync::ColumnType;
using exportsync::Date;
using exportsync::Money;
using exportsync::Row;
using exportsync::Timestamp;

// "12,50" or "12.50" or "12" → centimes; false when not a non-negative amount.
bool parsePrice(const std::string& s, int64_t& centimes) {
  int64_t units = 0;
  int64_t frac = 0;
  int frac_digits = -1;
  if (s.empty()) {
    return false;
  }
  for (char c : s) {
    if (c == ',' || c == '.') {
      if (frac_digits >= 0) {
        return false;
      }
      frac_digits = 0;
    } else if (c >= '0' && c <= '9') {
      if (frac_digits >= 0) {
        if (++frac_digits > 2) {
          return false;
        }
        frac = frac * 10 + (c - '0');
      } else {
        if (units > 1'000'000'000'000LL) {
          return false;
        }
        units = units * 10 + (c - '0');
      }
    } else {
      return false;
    }
  }
  if (frac_digits == 1) {
    frac *= 10;
  }
  centimes = units * 100 + frac;
  return true;
}

std::vector<std::string> split(const std::string& line, char sep) {
  std::vector<std::string> out(1);
  for (char c : line) {
    if (c == sep) {
      out.emplace_back();
    } else if (c != '\r') {
      out.back() += c;
    }
  }
  return out;
}

class ExamplePlugin : public exportsync::Plugin {
 public:
  static exportsync::PluginInfo info() {
    return {"example", "1.0.0", "Example plugin: synthetic items and an optional CSV inbox"};
  }

  void declare(exportsync::Schema& schema) override {
    schema.dataset("items", 1)
        .key("id", ColumnType::Text)
        .column("label", ColumnType::Text)
        .column("quantity", ColumnType::Integer)
        .column("unit_price", ColumnType::Money)
        .nullable("weight_kg", ColumnType::Real)
        .column("fragile", ColumnType::Boolean)
        .nullable("received", ColumnType::Date)
        .column("updated_at", ColumnType::Timestamp);
    schema.dataset("runs", 1)
        .key("run", ColumnType::Integer)
        .column("region", ColumnType::Text)
        .column("items", ColumnType::Integer);
  }

  void configure(const exportsync::Config& config) override {
    rows_ = config.getInt("rows", 10, 0, 1'000'000);
    inbox_ = config.getString("inbox", "");
  }

  void collect(CollectContext& ctx) override {
    const int64_t run = std::stoll(ctx.state().get("run").value_or("0")) + 1;
    ctx.log().info("run " + std::to_string(run) + " for region " + ctx.region());
    int64_t written = 0;
    for (int64_t i = 0; i < rows_; ++i) {
      ctx.throwIfCancelled();
      Row row{{"id", "item-" + std::to_string(i)},
              {"label", "Article " + std::to_string(i)},
              {"quantity", static_cast<long long>(i * 3)},
              {"unit_price", Money::fromCentimes(1250 + i)},
              {"weight_kg", i % 5 == 0 ? exportsync::Value() : exportsync::Value(0.5 * i)},
              {"fragile", i % 2 == 0},
              {"received", Date::fromYmd(2024, 1 + static_cast<unsigned>(i % 12), 15)},
              {"updated_at", Timestamp::fromMicros(1'700'000'000'000'000LL + i)}};
      if (auto st = ctx.sink().upsert("items", row); !st) {
        throw exportsync::Error(st.message());  // our own rows must fit: a bug, fail the run
      }
      ++written;
    }
    if (!inbox_.empty()) {
      written += readInbox(ctx);
    }
    if (auto st = ctx.sink().upsert("runs", Row{{"run", static_cast<long long>(run)},
                                                {"region", ctx.region()},
                                                {"items", static_cast<long long>(written)}});
        !st) {
      throw exportsync::Error(st.message());
    }
    if (auto st = ctx.state().put("run", std::to_string(run)); !st) {
      throw exportsync::Error(st.message());
    }
  }

 private:
  int64_t readInbox(CollectContext& ctx) {
    int64_t written = 0;
    DIR* dir = opendir(inbox_.c_str());
    if (dir == nullptr) {
      throw exportsync::Error("inbox '" + inbox_ +
                                  "' cannot be opened; create it or fix "
                                  "plugin.example.inbox",
                              exportsync::Code::Config);
    }
    std::vector<std::string> files;
    while (dirent* e = readdir(dir)) {
      const std::string name = e->d_name;
      if (name.size() > 4 && name.compare(name.size() - 4, 4, ".csv") == 0) {
        files.push_back(name);
      }
    }
    closedir(dir);
    const std::string done = inbox_ + "/done";
    ::mkdir(done.c_str(), 0750);
    for (const auto& name : files) {
      std::ifstream in(inbox_ + "/" + name);
      std::string line;
      uint64_t line_no = 0;
      while (std::getline(in, line)) {
        ++line_no;
        if (line_no == 1 || line.empty()) {
          continue;  // header
        }
        const auto f = split(line, ';');
        int64_t price = 0;
        if (f.size() != 4) {
          ctx.sink().reject({name, line_no, "", line, "expected 4 fields separated by ';'"});
          continue;
        }
        if (!parsePrice(f[3], price)) {
          ctx.sink().reject({name, line_no, "price", f[3], "not an amount like 12,50"});
          continue;
        }
        int64_t qty = 0;
        if (!exportsync::detail::parseInt64(f[2], qty) || qty < 0) {
          ctx.sink().reject({name, line_no, "quantity", f[2], "not a whole number >= 0"});
          continue;
        }
        auto st = ctx.sink().upsert("items", Row{{"id", f[0]},
                                                 {"label", f[1]},
                                                 {"quantity", static_cast<long long>(qty)},
                                                 {"unit_price", Money::fromCentimes(price)},
                                                 {"fragile", false},
                                                 {"updated_at", Timestamp::fromMicros(0)}});
        if (!st) {
          ctx.sink().reject({name, line_no, "", line, st.message()});
          continue;
        }
        ++written;
      }
      if (auto st = ctx.renameAfterCommit(inbox_ + "/" + name, done + "/" + name); !st) {
        throw exportsync::Error(st.message());
      }
    }
    return written;
  }

  int64_t rows_ = 10;
  std::string inbox_;
};

}  // namespace

ES_PLUGIN(ExamplePlugin)
