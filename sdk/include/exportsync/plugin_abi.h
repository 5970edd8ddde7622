/*
 * ExportSync plugin ABI, version 1.
 *
 * The only boundary between the agent (host) and a plugin. Pure C, so a plugin built with
 * another compiler or standard library still loads. Plugin authors normally do not use this
 * header directly: they write C++ against <exportsync/plugin.hpp>, which implements it.
 *
 * Compatibility policy (docs/plugin-guide.md, "ABI"):
 *   - ES_ABI_MAJOR changes only when an existing field changes meaning; the host refuses a
 *     plugin whose major differs from its own.
 *   - ES_ABI_MINOR grows when fields are appended to a struct. A reader uses a field only if
 *     the struct's `struct_size` covers it.
 *   - Only C types cross: fixed-width integers, pointer + length strings (UTF-8, not
 *     necessarily NUL-terminated), opaque handles and function pointers. No exceptions.
 *
 * THREAD: the host calls a plugin from one thread at a time; host callbacks must be called
 * on the thread that received the host pointer, during the call that received it.
 */
#ifndef EXPORTSYNC_PLUGIN_ABI_H
#define EXPORTSYNC_PLUGIN_ABI_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ES_ABI_MAJOR 1u
#define ES_ABI_MINOR 0u

/** Name of the one symbol a plugin exports. */
#define ES_PLUGIN_ENTRY_SYMBOL "exportsync_plugin_entry"

#if defined(__GNUC__)
#define ES_EXPORT __attribute__((visibility("default")))
#else
#define ES_EXPORT
#endif

/** Result of every call across the boundary. Anything but ES_OK carries a message, set with
 *  es_host_api.set_error before returning. */
typedef int32_t es_status;
#define ES_OK 0
#define ES_ERR_INVALID 1   /* bad argument or row (e.g. type mismatch, unknown column) */
#define ES_ERR_CONFIG 2    /* missing or bad configuration key */
#define ES_ERR_IO 3        /* file or network failure */
#define ES_ERR_CANCELLED 4 /* the host asked the run to stop */
#define ES_ERR_SCHEMA 5    /* bad dataset declaration */
#define ES_ERR_INTERNAL 6  /* anything else, including a C++ exception caught at the boundary */

/** Column types. Values cross as es_value; the comment says which member carries it. */
typedef int32_t es_type;
#define ES_TYPE_NULL 0      /* no value */
#define ES_TYPE_TEXT 1      /* str/len, UTF-8 */
#define ES_TYPE_INTEGER 2   /* i64 */
#define ES_TYPE_REAL 3      /* f64, finite */
#define ES_TYPE_BOOLEAN 4   /* i64, 0 or 1 */
#define ES_TYPE_DATE 5      /* i64, days since 1970-01-01 (proleptic Gregorian) */
#define ES_TYPE_TIMESTAMP 6 /* i64, microseconds since 1970-01-01T00:00:00Z */
#define ES_TYPE_MONEY 7     /* i64, centimes (1/100 of the currency unit) */

/** Column flags. */
#define ES_COLUMN_KEY 1u      /* part of the primary key (implies not null) */
#define ES_COLUMN_NULLABLE 2u /* may hold ES_TYPE_NULL */

/** Log levels, as syslog orders them. */
typedef int32_t es_log_level;
#define ES_LOG_ERROR 3
#define ES_LOG_WARNING 4
#define ES_LOG_NOTICE 5
#define ES_LOG_INFO 6
#define ES_LOG_DEBUG 7

/** One typed value. Exactly one member is meaningful, chosen by `type`. */
typedef struct es_value {
  es_type type;
  uint32_t reserved; /* zero */
  int64_t i64;
  double f64;
  const char* str; /* OWNERSHIP: caller's; only read during the call */
  size_t len;
} es_value;

/** One column of a dataset declaration. */
typedef struct es_column_decl {
  const char* name; /* [a-z][a-z0-9_]{0,62}, NUL-terminated */
  es_type type;     /* ES_TYPE_TEXT .. ES_TYPE_MONEY */
  uint32_t flags;   /* ES_COLUMN_* */
} es_column_decl;

/** A dataset: a table of rows with a primary key. */
typedef struct es_dataset_decl {
  uint32_t struct_size; /* sizeof(es_dataset_decl) */
  uint32_t version;     /* >= 1; raised when the columns change */
  const char* name;     /* [a-z][a-z0-9_]{0,62}, NUL-terminated */
  const es_column_decl* columns;
  size_t column_count; /* 1 .. 256 */
} es_dataset_decl;

/** Opaque host context, valid only during the plugin call that received it. */
typedef struct es_host_ctx* es_host_ptr;
/** Opaque plugin instance, created by es_plugin_v1.create. */
typedef struct es_plugin_instance* es_plugin_ptr;

/**
 * Services the host offers a plugin. Passed to every plugin call with its context.
 * Unless said otherwise a callback returns ES_OK or an error code, and on error the reason
 * is available with last_error until the next callback.
 * OWNERSHIP: strings returned through out-parameters belong to the host and stay valid until
 * the same callback is called again or the plugin call returns, whichever comes first.
 * THREAD: only on the thread of the plugin call.
 */
typedef struct es_host_api {
  uint32_t abi_major;
  uint32_t abi_minor;
  uint32_t struct_size;
  uint32_t reserved;

  /** Records why the current plugin call fails; the host copies the message. */
  void (*set_error)(es_host_ptr ctx, const char* msg, size_t len);
  /** The reason of the last failed callback; never NULL. */
  void (*last_error)(es_host_ptr ctx, const char** msg, size_t* len);
  /** Writes one log line attributed to the plugin. */
  void (*log)(es_host_ptr ctx, es_log_level level, const char* msg, size_t len);

  /** Looks up a configuration value for this plugin (key without the `plugin.<name>.` prefix).
   *  Returns 1 and sets *value when present, 0 when absent. */
  int32_t (*config_get)(es_host_ptr ctx, const char* key, size_t key_len, const char** value,
                        size_t* value_len);
  /** Enumerates configuration keys: index from 0; returns 0 past the last one. */
  int32_t (*config_key_at)(es_host_ptr ctx, size_t index, const char** key, size_t* key_len);
  /** The office's region code, e.g. "MA-06". */
  void (*region)(es_host_ptr ctx, const char** code, size_t* len);

  /** declare only: adds a dataset. ES_ERR_SCHEMA with a reason when it is not valid. */
  es_status (*declare_dataset)(es_host_ptr ctx, const es_dataset_decl* decl);

  /** collect only: inserts or replaces a row. `values` follow the declared column order and
   *  `count` equals the dataset's column count. ES_ERR_INVALID with a reason naming the column
   *  when a value does not fit; nothing is written then. */
  es_status (*sink_upsert)(es_host_ptr ctx, const char* dataset, size_t dataset_len,
                           const es_value* values, size_t count);
  /** collect only: removes the row with this key (key columns in declared order). Removing a
   *  row that does not exist is not an error. */
  es_status (*sink_remove)(es_host_ptr ctx, const char* dataset, size_t dataset_len,
                           const es_value* key, size_t count);
  /** collect only: records an input record the plugin refused, for the run's report.
   *  `source` names the file or system, `line` is 1-based (0 when not applicable). */
  es_status (*reject)(es_host_ptr ctx, const char* source, size_t source_len, uint64_t line,
                      const char* column, size_t column_len, const char* value, size_t value_len,
                      const char* reason, size_t reason_len);

  /** Durable per-plugin key-value state, written in the collect run's transaction (so it is
   *  rolled back with the run). state_get returns 1 and sets *value when present, 0 if not. */
  int32_t (*state_get)(es_host_ptr ctx, const char* key, size_t key_len, const char** value,
                       size_t* value_len);
  es_status (*state_put)(es_host_ptr ctx, const char* key, size_t key_len, const char* value,
                         size_t value_len);
  es_status (*state_erase)(es_host_ptr ctx, const char* key, size_t key_len);

  /** Returns 1 when the host asked the run to stop; the plugin should return
   *  ES_ERR_CANCELLED soon. */
  int32_t (*cancelled)(es_host_ptr ctx);

  /** collect only: renames `from` to `to` (absolute paths) after the run's transaction
   *  commits; nothing happens if the run fails. Used to move input files to done/. */
  es_status (*rename_after_commit)(es_host_ptr ctx, const char* from, size_t from_len,
                                   const char* to, size_t to_len);
} es_host_api;

/**
 * What a plugin is. Returned by the entry symbol; static storage in the plugin.
 * The host reads abi_major, abi_minor and struct_size before anything else.
 */
typedef struct es_plugin_v1 {
  uint32_t abi_major;   /* ES_ABI_MAJOR the plugin was built with */
  uint32_t abi_minor;   /* ES_ABI_MINOR the plugin was built with */
  uint32_t struct_size; /* sizeof(es_plugin_v1) in the plugin's build */
  uint32_t reserved;
  const char* name;        /* [a-z][a-z0-9-]{0,31}, NUL-terminated, static */
  const char* version;     /* free text, e.g. "1.2.0", NUL-terminated, static */
  const char* description; /* one line, NUL-terminated, static */

  /** Creates an instance. Returns NULL and calls host->set_error on failure.
   *  OWNERSHIP: the host owns the instance and releases it with destroy, exactly once. */
  es_plugin_ptr (*create)(const es_host_api* host, es_host_ptr ctx);
  /** Declares the plugin's datasets with host->declare_dataset. */
  es_status (*declare)(es_plugin_ptr self, const es_host_api* host, es_host_ptr ctx);
  /** Reads and checks configuration. Called before collect, after declare. */
  es_status (*configure)(es_plugin_ptr self, const es_host_api* host, es_host_ptr ctx);
  /** Collects data into the sink. The whole call is one transaction in the store. */
  es_status (*collect)(es_plugin_ptr self, const es_host_api* host, es_host_ptr ctx);
  /** Releases the instance. */
  void (*destroy)(es_plugin_ptr self);
} es_plugin_v1;

/** The entry symbol's type. `host_abi_major` lets a plugin refuse a host it cannot serve by
 *  returning NULL. */
typedef const es_plugin_v1* (*es_plugin_entry_fn)(uint32_t host_abi_major);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* EXPORTSYNC_PLUGIN_ABI_H */
