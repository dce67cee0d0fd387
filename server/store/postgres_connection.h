// libpq connections for the PostgreSQL stores: a small pool (libpq connections are not
// thread-safe, the stores are called from many threads), parameterized statements, results, and
// the one place SQLSTATE codes become Status codes.
#pragma once

#include <postgresql/libpq-fe.h>

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "optimizer/util/status.h"

namespace graphopt::server {

// Statement parameters, sent as text except for bytea values, which go binary (no escaping).
class PgParams {
 public:
  PgParams& Text(std::string value);
  PgParams& Int(int64_t value);
  PgParams& TextOrNull(std::string value);  // "" is sent as NULL
  PgParams& Bytes(std::string_view value);
  size_t size() const { return values_.size(); }

 private:
  friend class PgConnection;
  std::vector<std::string> values_;
  std::vector<bool> null_;
  std::vector<int> binary_;
};

// One statement's result (owns the PGresult).
class PgResult {
 public:
  explicit PgResult(PGresult* result) : result_(result, &PQclear) {}
  int rows() const { return PQntuples(result_.get()); }
  bool IsNull(int row, int col) const { return PQgetisnull(result_.get(), row, col) != 0; }
  std::string Text(int row, int col) const;
  int64_t Int(int row, int col) const;
  // Column `col` of a binary-format result, raw bytes.
  std::string_view Bytes(int row, int col) const;
  // Rows changed by an INSERT/UPDATE/DELETE.
  int64_t affected() const;
  PGresult* get() const { return result_.get(); }

 private:
  std::unique_ptr<PGresult, void (*)(PGresult*)> result_;
};

class PgConnection {
 public:
  static Result<std::unique_ptr<PgConnection>> Connect(const std::string& dsn);
  ~PgConnection();
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  Result<PgResult> Exec(const std::string& sql, const PgParams& params = {},
                        bool binary_result = false);
  // Several statements without parameters (schema scripts).
  Status ExecScript(const std::string& sql);
  // Runs `body` between BEGIN and COMMIT; ROLLBACK when it fails.
  Status InTransaction(const std::function<Status()>& body);
  bool healthy() const { return PQstatus(conn_) == CONNECTION_OK; }
  // False when the connection died while it sat idle in the pool (PostgreSQL restarted, the
  // backend was terminated, a proxy closed it). Costs one poll(2), no round trip.
  bool UsableAfterIdle();
  // Re-establishes a broken connection; false when PostgreSQL cannot be reached.
  bool Reset() {
    PQreset(conn_);
    return healthy();
  }
  PGconn* raw() { return conn_; }

 private:
  explicit PgConnection(PGconn* conn) : conn_(conn) {}
  Status ResultStatus(PGresult* result, const std::string& sql);
  PGconn* conn_;
};

class PgConnectionPool {
 public:
  // Opens one connection at once (to fail fast on a wrong DSN); more are opened on demand up to
  // `max_connections`.
  static Result<std::shared_ptr<PgConnectionPool>> Create(const std::string& dsn,
                                                          int max_connections);

  // A connection borrowed for one operation; returned to the pool when destroyed.
  class Handle {
   public:
    Handle(PgConnectionPool* pool, std::unique_ptr<PgConnection> conn)
        : pool_(pool), conn_(std::move(conn)) {}
    Handle(Handle&&) = default;
    ~Handle();
    PgConnection* operator->() { return conn_.get(); }
    PgConnection& operator*() { return *conn_; }

   private:
    PgConnectionPool* pool_;
    std::unique_ptr<PgConnection> conn_;
  };

  // Waits for a free connection, reconnecting one that died while idle, so the first call after
  // a PostgreSQL restart succeeds; kUnavailable when PostgreSQL cannot be reached.
  Result<Handle> Acquire();
  const std::string& dsn() const { return dsn_; }

 private:
  PgConnectionPool(std::string dsn, int max) : dsn_(std::move(dsn)), max_(max) {}
  void Release(std::unique_ptr<PgConnection> conn);

  std::string dsn_;
  int max_;
  std::mutex mu_;
  std::condition_variable available_;
  std::vector<std::unique_ptr<PgConnection>> idle_;
  int open_ = 0;
};

}  // namespace graphopt::server
