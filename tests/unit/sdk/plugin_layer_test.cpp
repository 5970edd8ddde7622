// The header-only C++ layer (plugin.hpp) against an in-process fake host: the plugin side of
// the ABI, without the agent. The fake host records every call and answers like the agent does.
#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <new>
#include <stdexcept>
#include <string>
#include <vector>

#include "exportsync/plugin.hpp"

namespace exportsync {
namespace {

struct FakeHost {
  std::string error;
  std::string scratch;
  std::string region = "MA-06";
  bool cancel = false;
  bool refuse_declare = false;
  std::map<std::string, std::string> config;
  std::map<std::string, std::string> state;
  std::vector<DatasetSpec> declared;
  struct Write {
    std::string op;
    std::string dataset;
    std::vector<Value> values;
  };
  std::vector<Write> writes;
  std::vector<std::pair<es_log_level, std::string>> logs;
  std::vector<std::string> rejections;
  std::vector<std::pair<std::string, std::string>> renames;

  es_host_ptr ctx() { return reinterpret_cast<es_host_ptr>(this); }
  detail::Call call() { return detail::Call{&api(), ctx()}; }

  static FakeHost& of(es_host_ptr p) { return *reinterpret_cast<FakeHost*>(p); }
  es_status fail(es_status code, std::string msg) {
    error = std::move(msg);
    return code;
  }
  const DatasetSpec* find(const char* name, size_t len) const {
    for (const auto& d : declared) {
      if (d.name == std::string_view(name, len)) {
        return &d;
      }
    }
    return nullptr;
  }
  // Checks values against the declared columns the way the agent's store does.
  es_status write(const char* op, const char* dataset, size_t len, const es_value* v, size_t n,
                  bool key_only) {
    const DatasetSpec* d = find(dataset, len);
    if (d == nullptr) {
      return fail(ES_ERR_INVALID, "dataset '" + std::string(dataset, len) + "' was not declared");
    }
    std::vector<size_t> cols;
    if (key_only) {
      cols = d->keyIndexes();
    } else {
      for (size_t i = 0; i < d->columns.size(); ++i) {
        cols.push_back(i);
      }
    }
    if (n != cols.size()) {
      return fail(ES_ERR_INVALID, "dataset '" + d->name + "': wrong value count");
    }
    Write w{op, d->name, {}};
    for (size_t i = 0; i < n; ++i) {
      if (auto reason = checkValue(d->columns[cols[i]], v[i]); !reason.empty()) {
        return fail(ES_ERR_INVALID, "dataset '" + d->name + "': " + reason);
      }
      w.values.push_back(Value::fromAbi(v[i]));
    }
    writes.push_back(std::move(w));
    return ES_OK;
  }

  static const es_host_api& api() {
    static const es_host_api kApi = [] {
      es_host_api a{};
      a.abi_major = ES_ABI_MAJOR;
      a.abi_minor = ES_ABI_MINOR;
      a.struct_size = sizeof(es_host_api);
      a.set_error = [](es_host_ptr p, const char* msg, size_t len) {
        of(p).error.assign(msg, len);
      };
      a.last_error = [](es_host_ptr p, const char** msg, size_t* len) {
        *msg = of(p).error.c_str();
        *len = of(p).error.size();
      };
      a.log = [](es_host_ptr p, es_log_level level, const char* msg, size_t len) {
        of(p).logs.emplace_back(level, std::string(msg, len));
      };
      a.config_get = [](es_host_ptr p, const char* key, size_t key_len, const char** value,
                        size_t* value_len) -> int32_t {
        auto& h = of(p);
        auto it = h.config.find(std::string(key, key_len));
        if (it == h.config.end()) {
          return 0;
        }
        *value = it->second.data();
        *value_len = it->second.size();
        return 1;
      };
      a.config_key_at = [](es_host_ptr p, size_t index, const char** key,
                           size_t* key_len) -> int32_t {
        auto& h = of(p);
        if (index >= h.config.size()) {
          return 0;
        }
        auto it = std::next(h.config.begin(), static_cast<std::ptrdiff_t>(index));
        *key = it->first.data();
        *key_len = it->first.size();
        return 1;
      };
      a.region = [](es_host_ptr p, const char** code, size_t* len) {
        *code = of(p).region.data();
        *len = of(p).region.size();
      };
      a.declare_dataset = [](es_host_ptr p, const es_dataset_decl* decl) -> es_status {
        auto& h = of(p);
        if (h.refuse_declare) {
          return h.fail(ES_ERR_SCHEMA, std::string("dataset '") + decl->name + "' refused");
        }
        DatasetSpec spec{decl->name, decl->version, {}};
        for (size_t i = 0; i < decl->column_count; ++i) {
          const auto& c = decl->columns[i];
          spec.columns.push_back({c.name, static_cast<ColumnType>(c.type),
                                  (c.flags & ES_COLUMN_KEY) != 0,
                                  (c.flags & ES_COLUMN_NULLABLE) != 0});
        }
        if (auto reason = checkDatasetSpec(spec); !reason.empty()) {
          return h.fail(ES_ERR_SCHEMA, reason);
        }
        h.declared.push_back(std::move(spec));
        return ES_OK;
      };
      a.sink_upsert = [](es_host_ptr p, const char* d, size_t dl, const es_value* v,
                         size_t n) -> es_status {
        return of(p).write("upsert", d, dl, v, n, false);
      };
      a.sink_remove = [](es_host_ptr p, const char* d, size_t dl, const es_value* v,
                         size_t n) -> es_status {
        return of(p).write("remove", d, dl, v, n, true);
      };
      a.reject = [](es_host_ptr p, const char* source, size_t source_len, uint64_t line,
                    const char* column, size_t column_len, const char* value, size_t value_len,
                    const char* reason, size_t reason_len) -> es_status {
        of(p).rejections.push_back(std::string(source, source_len) + ":" + std::to_string(line) +
                                   ":" + std::string(column, column_len) + ":" +
                                   std::string(value, value_len) + ":" +
                                   std::string(reason, reason_len));
        return ES_OK;
      };
      a.state_get = [](es_host_ptr p, const char* key, size_t key_len, const char** value,
                       size_t* value_len) -> int32_t {
        auto& h = of(p);
        auto it = h.state.find(std::string(key, key_len));
        if (it == h.state.end()) {
          return 0;
        }
        h.scratch = it->second;
        *value = h.scratch.data();
        *value_len = h.scratch.size();
        return 1;
      };
      a.state_put = [](es_host_ptr p, const char* key, size_t key_len, const char* value,
                       size_t value_len) -> es_status {
        if (key_len == 0) {
          return of(p).fail(ES_ERR_INVALID, "empty state key");
        }
        of(p).state[std::string(key, key_len)] = std::string(value, value_len);
        return ES_OK;
      };
      a.state_erase = [](es_host_ptr p, const char* key, size_t key_len) -> es_status {
        of(p).state.erase(std::string(key, key_len));
        return ES_OK;
      };
      a.cancelled = [](es_host_ptr p) -> int32_t { return of(p).cancel ? 1 : 0; };
      a.rename_after_commit = [](es_host_ptr p, const char* from, size_t from_len, const char* to,
                                 size_t to_len) -> es_status {
        if (from_len == 0 || from[0] != '/') {
          return of(p).fail(ES_ERR_INVALID, "rename_after_commit takes absolute paths");
        }
        of(p).renames.emplace_back(std::string(from, from_len), std::string(to, to_len));
        return ES_OK;
      };
      return a;
    }();
    return kApi;
  }
};

void declareItems(Schema& schema) {
  schema.dataset("items", 2)
      .key("region", ColumnType::Text)
      .key("id", ColumnType::Integer)
      .column("label", ColumnType::Text)
      .column("price", ColumnType::Money)
      .nullable("weight", ColumnType::Real)
      .nullable("seen", ColumnType::Date);
}

// A fake host with `items` declared, and the Schema the plugin side holds.
class SinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    declareItems(schema_);
    for (const auto& d : schema_.datasets()) {
      host_.declared.push_back(d);
    }
  }
  FakeHost host_;
  Schema schema_;
};

TEST_F(SinkTest, UpsertSendsValuesInDeclaredOrderWhateverTheRowOrder) {
  Sink sink(host_.call(), schema_);
  ASSERT_TRUE(sink.upsert("items", Row{{"label", "Huile d'argan"},
                                       {"id", 7},
                                       {"price", Money::fromCentimes(12050)},
                                       {"region", "MA-06"}}));
  ASSERT_EQ(host_.writes.size(), 1u);
  const auto& w = host_.writes[0];
  EXPECT_EQ(w.op, "upsert");
  EXPECT_EQ(w.dataset, "items");
  const std::vector<Value> expect = {"MA-06", 7,      "Huile d'argan", Money::fromCentimes(12050),
                                     Value(), Value()};
  EXPECT_EQ(w.values, expect) << "omitted nullable columns are sent as null";
}

TEST_F(SinkTest, UnknownColumnIsRefusedBeforeTheHostSeesIt) {
  Sink sink(host_.call(), schema_);
  const Status st = sink.upsert("items", Row{{"region", "MA-06"}, {"id", 1}, {"colour", "red"}});
  EXPECT_EQ(st.code(), Code::Invalid);
  EXPECT_EQ(st.message(), "dataset 'items' has no column 'colour'");
  EXPECT_TRUE(host_.writes.empty());
}

TEST_F(SinkTest, UndeclaredDatasetIsRefused) {
  Sink sink(host_.call(), schema_);
  const Status st = sink.upsert("things", Row{{"id", 1}});
  EXPECT_EQ(st.code(), Code::Invalid);
  EXPECT_EQ(st.message(), "dataset 'things' was not declared; declare it in declare()");
}

TEST_F(SinkTest, HostRefusalComesBackWithItsCodeAndMessage) {
  Sink sink(host_.call(), schema_);
  const Status st = sink.upsert(
      "items",
      Row{{"region", "MA-06"}, {"id", "seven"}, {"label", "x"}, {"price", Money::fromCentimes(1)}});
  EXPECT_EQ(st.code(), Code::Invalid);
  EXPECT_EQ(st.message(), "dataset 'items': column 'id' expects integer, got text");
  const Status missing = sink.upsert("items", Row{{"region", "MA-06"}, {"id", 1}});
  EXPECT_EQ(missing.message(), "dataset 'items': column 'label' may not be empty (null)");
  EXPECT_TRUE(host_.writes.empty());
}

TEST_F(SinkTest, RemoveTakesKeyColumnsOnlyInKeyOrder) {
  Sink sink(host_.call(), schema_);
  ASSERT_TRUE(sink.remove("items", Row{{"id", 9}, {"region", "MA-01"}}));
  ASSERT_EQ(host_.writes.size(), 1u);
  EXPECT_EQ(host_.writes[0].op, "remove");
  EXPECT_EQ(host_.writes[0].values, (std::vector<Value>{"MA-01", 9}));
  const Status st = sink.remove("items", Row{{"region", "MA-01"}, {"label", "x"}});
  EXPECT_EQ(st.code(), Code::Invalid);
  EXPECT_EQ(st.message(),
            "dataset 'items': column 'label' is not part of the key; remove() takes key columns "
            "only");
  EXPECT_EQ(sink.remove("items", Row{{"zone", 1}}).message(),
            "dataset 'items' has no column 'zone'");
}

TEST_F(SinkTest, RejectPassesEveryField) {
  Sink sink(host_.call(), schema_);
  sink.reject({"in.csv", 12, "price", "12,5x", "not an amount"});
  EXPECT_EQ(host_.rejections, std::vector<std::string>{"in.csv:12:price:12,5x:not an amount"});
}

// --- Config ---------------------------------------------------------------------------------

class ConfigTest : public ::testing::Test {
 protected:
  FakeHost host_;
  Config config() { return Config(host_.call(), "example"); }
};

template <typename F>
std::string configError(F&& f) {
  try {
    f();
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.code(), Code::Config);
    return e.what();
  }
  ADD_FAILURE() << "no ConfigError thrown";
  return {};
}

TEST_F(ConfigTest, GettersReadValuesAndFallbacks) {
  host_.config = {
      {"rows", "25"}, {"name", "Tifawin"}, {"strict", "yes"}, {"neg", "-9223372036854775808"}};
  const Config c = config();
  EXPECT_EQ(c.getInt("rows"), 25);
  EXPECT_EQ(c.getInt("rows", 0, 0, 100), 25);
  EXPECT_EQ(c.getInt("absent", 10, 0, 100), 10);
  EXPECT_EQ(c.getInt("neg"), INT64_MIN);
  EXPECT_EQ(c.getString("name"), "Tifawin");
  EXPECT_EQ(c.getString("absent", "d"), "d");
  EXPECT_TRUE(c.getBool("strict"));
  EXPECT_FALSE(c.getBool("absent", false));
  EXPECT_TRUE(c.has("rows"));
  EXPECT_FALSE(c.has("absent"));
  EXPECT_EQ(c.keys(), (std::vector<std::string>{"name", "neg", "rows", "strict"}));
  EXPECT_EQ(c.pluginName(), "example");
}

TEST_F(ConfigTest, ErrorsNameTheFullKey) {
  host_.config = {{"rows", "ten"},
                  {"big", "5000"},
                  {"flag", "maybe"},
                  {"empty", ""},
                  {"huge", "9223372036854775808"}};
  const Config c = config();
  EXPECT_EQ(configError([&] { (void)c.getInt("rows"); }),
            "config key 'plugin.example.rows': 'ten' is not an integer; write digits only");
  EXPECT_EQ(configError([&] { (void)c.getInt("rows", 10, 0, 100); }),
            "config key 'plugin.example.rows': 'ten' is not an integer; write digits only");
  EXPECT_EQ(configError([&] { (void)c.getInt("big", 0, 0, 1000); }),
            "config key 'plugin.example.big': 5000 is out of range [0, 1000]");
  EXPECT_EQ(configError([&] { (void)c.getInt("huge"); }),
            "config key 'plugin.example.huge': '9223372036854775808' is not an integer; write "
            "digits only");
  EXPECT_EQ(configError([&] { (void)c.getString("missing"); }),
            "config key 'plugin.example.missing' is missing; set it in the agent config");
  EXPECT_EQ(configError([&] { (void)c.getString("empty"); }),
            "config key 'plugin.example.empty' is missing; set it in the agent config");
  EXPECT_EQ(configError([&] { (void)c.getBool("flag"); }),
            "config key 'plugin.example.flag': 'maybe' is not a boolean; write true or false");
}

TEST(ParseInt64, EdgesAndJunk) {
  int64_t v = 0;
  EXPECT_TRUE(detail::parseInt64("9223372036854775807", v));
  EXPECT_EQ(v, INT64_MAX);
  EXPECT_TRUE(detail::parseInt64("-9223372036854775808", v));
  EXPECT_EQ(v, INT64_MIN);
  EXPECT_TRUE(detail::parseInt64("+42", v));
  EXPECT_EQ(v, 42);
  for (const char* bad : {"", "-", "+", "1e3", " 1", "1 ", "0x10", "-9223372036854775809",
                          "18446744073709551616", "99999999999999999999"}) {
    EXPECT_FALSE(detail::parseInt64(bad, v)) << "'" << bad << "'";
  }
}

// --- State, logger, context -----------------------------------------------------------------

TEST(CollectContext, StateLoggerRegionCancelAndRename) {
  FakeHost host;
  Schema schema;
  declareItems(schema);
  CollectContext ctx(host.call(), schema, "example");
  EXPECT_EQ(ctx.region(), "MA-06");
  EXPECT_FALSE(ctx.state().get("cursor").has_value());
  ASSERT_TRUE(ctx.state().put("cursor", "2024-05-01"));
  EXPECT_EQ(ctx.state().get("cursor"), "2024-05-01");
  const Status bad = ctx.state().put("", "x");
  EXPECT_EQ(bad.code(), Code::Invalid);
  EXPECT_EQ(bad.message(), "empty state key");
  ASSERT_TRUE(ctx.state().erase("cursor"));
  EXPECT_FALSE(ctx.state().get("cursor").has_value());

  ctx.log().warning("tiède");
  ctx.log().debug("x");
  ASSERT_EQ(host.logs.size(), 2u);
  EXPECT_EQ(host.logs[0], std::make_pair(ES_LOG_WARNING, std::string("tiède")));
  EXPECT_EQ(host.logs[1].first, ES_LOG_DEBUG);

  EXPECT_TRUE(ctx.renameAfterCommit("/in/a.csv", "/in/done/a.csv"));
  EXPECT_EQ(ctx.renameAfterCommit("a.csv", "/b").message(),
            "rename_after_commit takes absolute paths");

  EXPECT_FALSE(ctx.cancelled());
  EXPECT_NO_THROW(ctx.throwIfCancelled());
  host.cancel = true;
  EXPECT_TRUE(ctx.cancelled());
  try {
    ctx.throwIfCancelled();
    ADD_FAILURE() << "no throw";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::Cancelled);
  }
}

// --- The registration layer: descriptor and exception boundary ------------------------------

// What the test plugin does in each call; set per test.
struct Behaviour {
  std::function<void(Schema&)> declare = declareItems;
  std::function<void(const Config&)> configure;
  std::function<void(CollectContext&)> collect;
};
Behaviour& behaviour() {
  static Behaviour b;
  return b;
}
int g_live_instances = 0;

class TestPlugin : public Plugin {
 public:
  TestPlugin() { ++g_live_instances; }
  ~TestPlugin() override { --g_live_instances; }
  TestPlugin(const TestPlugin&) = delete;
  TestPlugin& operator=(const TestPlugin&) = delete;
  static PluginInfo info() { return {"layer-test", "0.1.0", "Plugin-layer unit test"}; }
  void declare(Schema& schema) override { behaviour().declare(schema); }
  void configure(const Config& config) override {
    if (behaviour().configure) {
      behaviour().configure(config);
    }
  }
  void collect(CollectContext& ctx) override {
    if (behaviour().collect) {
      behaviour().collect(ctx);
    }
  }
};

class EntryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    behaviour() = Behaviour();
    d_ = detail::entry<TestPlugin>(ES_ABI_MAJOR);
    ASSERT_NE(d_, nullptr);
    self_ = d_->create(&FakeHost::api(), host_.ctx());
    ASSERT_NE(self_, nullptr);
  }
  void TearDown() override {
    d_->destroy(self_);
    EXPECT_EQ(g_live_instances, 0) << "destroy() must free the instance";
  }
  es_status collect() { return d_->collect(self_, &FakeHost::api(), host_.ctx()); }

  FakeHost host_;
  const es_plugin_v1* d_ = nullptr;
  es_plugin_ptr self_ = nullptr;
};

TEST(Entry, DescriptorStartsWithVersionAndSize) {
  const es_plugin_v1* d = detail::entry<TestPlugin>(ES_ABI_MAJOR);
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->abi_major, ES_ABI_MAJOR);
  EXPECT_EQ(d->abi_minor, ES_ABI_MINOR);
  EXPECT_EQ(d->struct_size, sizeof(es_plugin_v1));
  EXPECT_STREQ(d->name, "layer-test");
  EXPECT_STREQ(d->version, "0.1.0");
  EXPECT_STREQ(d->description, "Plugin-layer unit test");
  EXPECT_EQ(detail::entry<TestPlugin>(ES_ABI_MAJOR), d) << "one static descriptor";
  EXPECT_EQ(detail::entry<TestPlugin>(ES_ABI_MAJOR + 1), nullptr)
      << "a plugin refuses a host of another major";
}

TEST_F(EntryTest, DeclareHandsEveryDatasetToTheHost) {
  ASSERT_EQ(d_->declare(self_, &FakeHost::api(), host_.ctx()), ES_OK) << host_.error;
  ASSERT_EQ(host_.declared.size(), 1u);
  const auto& d = host_.declared[0];
  EXPECT_EQ(d.name, "items");
  EXPECT_EQ(d.version, 2u);
  ASSERT_EQ(d.columns.size(), 6u);
  EXPECT_TRUE(d.columns[0].key);
  EXPECT_FALSE(d.columns[0].nullable);
  EXPECT_TRUE(d.columns[1].key);
  EXPECT_EQ(d.columns[3].type, ColumnType::Money);
  EXPECT_TRUE(d.columns[4].nullable);
  EXPECT_EQ(d.columns[5].type, ColumnType::Date);
}

TEST_F(EntryTest, HostRefusingADatasetFailsDeclareWithItsReason) {
  host_.refuse_declare = true;
  EXPECT_EQ(d_->declare(self_, &FakeHost::api(), host_.ctx()), ES_ERR_SCHEMA);
  EXPECT_EQ(host_.error, "dataset 'items' refused");
}

TEST_F(EntryTest, CollectDeclaresFirstWhenTheHostSkippedDeclare) {
  behaviour().collect = [](CollectContext& ctx) {
    if (auto st = ctx.sink().upsert("items", Row{{"region", ctx.region()},
                                                 {"id", 1},
                                                 {"label", "Coopérative Tifawin"},
                                                 {"price", Money::fromCentimes(-5)}});
        !st) {
      throw Error(st.message());
    }
  };
  ASSERT_EQ(collect(), ES_OK) << host_.error;
  ASSERT_EQ(host_.writes.size(), 1u);
  EXPECT_EQ(host_.writes[0].values[0], Value("MA-06"));
}

TEST_F(EntryTest, ExceptionsBecomeCodesAndMessages) {
  struct Case {
    std::function<void(CollectContext&)> body;
    es_status code;
    std::string message;
  };
  const std::vector<Case> cases = {
      {[](CollectContext&) { throw Error("source offline", Code::Io); }, ES_ERR_IO,
       "source offline"},
      {[](CollectContext&) { throw std::runtime_error("boom"); }, ES_ERR_INTERNAL,
       "unhandled exception: boom"},
      {[](CollectContext&) { throw std::bad_alloc(); }, ES_ERR_INTERNAL,
       "out of memory (std::bad_alloc)"},
      {[](CollectContext&) { throw 42; }, ES_ERR_INTERNAL, "unhandled exception of unknown type"},
      {[](CollectContext& ctx) { (void)ctx.config().getInt("rows"); }, ES_ERR_CONFIG,
       "config key 'plugin.layer-test.rows' is missing; set it in the agent config"},
      {[](CollectContext& ctx) { ctx.throwIfCancelled(); }, ES_OK, ""},
  };
  for (const auto& c : cases) {
    host_.error.clear();
    behaviour().collect = c.body;
    EXPECT_EQ(collect(), c.code) << c.message;
    EXPECT_EQ(host_.error, c.message);
  }
  host_.cancel = true;
  EXPECT_EQ(collect(), ES_ERR_CANCELLED);
  EXPECT_EQ(host_.error, "run cancelled by the agent");
}

TEST_F(EntryTest, ConfigureErrorNamesThePluginKey) {
  host_.config = {{"rows", "-3"}};
  behaviour().configure = [](const Config& c) { (void)c.getInt("rows", 10, 0, 1000); };
  EXPECT_EQ(d_->configure(self_, &FakeHost::api(), host_.ctx()), ES_ERR_CONFIG);
  EXPECT_EQ(host_.error, "config key 'plugin.layer-test.rows': -3 is out of range [0, 1000]");
}

TEST_F(EntryTest, DeclareThatThrowsIsContained) {
  behaviour().declare = [](Schema&) { throw std::logic_error("no datasets today"); };
  EXPECT_EQ(d_->declare(self_, &FakeHost::api(), host_.ctx()), ES_ERR_INTERNAL);
  EXPECT_EQ(host_.error, "unhandled exception: no datasets today");
}

}  // namespace
}  // namespace exportsync
