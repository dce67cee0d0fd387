// libpq plumbing for the PostgreSQL stores (see postgres_connection.h).
#include "server/store/postgres_connection.h"

#include <poll.h>

#include <cstdlib>

namespace graphopt::server {

PgParams& PgParams::Text(std::string value) {
  values_.push_back(std::move(value));
  null_.push_back(false);
  binary_.push_back(0);
  return *this;
}

PgParams& PgParams::Int(int64_t value) { return Text(std::to_string(value)); }

PgParams& PgParams::TextOrNull(std::string value) {
  const bool is_null = value.empty();
  Text(std::move(value));
  null_.back() = is_null;
  return *this;
}

PgParams& PgParams::Bytes(std::string_view value) {
  Text(std::string(value));
  binary_.back() = 1;
  return *this;
}

std::string PgResult::Text(int row, int col) const {
  return std::string(PQgetvalue(result_.get(), row, col),
                     static_cast<size_t>(PQgetlength(result_.get(), row, col)));
}

int64_t PgResult::Int(int row, int col) const {
  if (IsNull(row, col)) return 0;
  return std::strtoll(PQgetvalue(result_.get(), row, col), nullptr, 10);
}

std::string_view PgResult::Bytes(int row, int col) const {
  return {PQgetvalue(result_.get(), row, col),
          static_cast<size_t>(PQgetlength(result_.get(), row, col))};
}

int64_t PgResult::affected() const {
  const char* n = PQcmdTuples(result_.get());
  return n && *n ? std::strtoll(n, nullptr, 10) : 0;
}

Result<std::unique_ptr<PgConnection>> PgConnection::Connect(const std::string& dsn) {
  PGconn* conn = PQconnectdb(dsn.c_str());
  if (conn == nullptr) return Status(StatusCode::kUnavailable, "postgres: out of memory");
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string message = PQerrorMessage(conn);
    PQfinish(conn);
    while (!message.empty() && message.back() == '\n') message.pop_back();
    return Status(StatusCode::kUnavailable, "cannot connect to PostgreSQL: " + message);
  }
  auto connection = std::unique_ptr<PgConnection>(new PgConnection(conn));
  // Quiet NOTICEs (e.g. "relation already exists, skipping") instead of printing to stderr.
  PQsetNoticeProcessor(
      conn, [](void*, const char*) {}, nullptr);
  return connection;
}

PgConnection::~PgConnection() { PQfinish(conn_); }

bool PgConnection::UsableAfterIdle() {
  if (!healthy()) return false;
  // Between statements PostgreSQL sends nothing unprompted to a pooled connection (none LISTENs),
  // except what precedes a close: the FATAL "terminating connection" error and EOF. So anything
  // readable means the connection is gone or going, and the statement we would send next on it
  // would fail.
  pollfd fd{PQsocket(conn_), POLLIN, 0};
  const int ready = ::poll(&fd, 1, 0);
  return ready == 0;
}

Status PgConnection::ResultStatus(PGresult* result, const std::string& sql) {
  const ExecStatusType status = PQresultStatus(result);
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return Status::Ok();
  std::string message = result ? PQresultErrorMessage(result) : PQerrorMessage(conn_);
  while (!message.empty() && message.back() == '\n') message.pop_back();
  const char* state = result ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
  const std::string sqlstate = state ? state : "";
  message = "postgres: " + message;
  if (sqlstate == "23505") return {StatusCode::kAlreadyExists, message};  // unique_violation
  // Retryable: serialization failure, deadlock, connection trouble, server shutting down.
  if (sqlstate == "40001" || sqlstate == "40P01" || sqlstate.rfind("08", 0) == 0 ||
      sqlstate.rfind("57P", 0) == 0 || sqlstate.empty() || !healthy()) {
    return {StatusCode::kUnavailable, message};
  }
  return Internal(message + " [" + sqlstate + "] in: " + sql.substr(0, 120));
}

Result<PgResult> PgConnection::Exec(const std::string& sql, const PgParams& params,
                                    bool binary_result) {
  std::vector<const char*> values(params.size());
  std::vector<int> lengths(params.size());
  for (size_t i = 0; i < params.size(); ++i) {
    values[i] = params.null_[i] ? nullptr : params.values_[i].data();
    lengths[i] = static_cast<int>(params.values_[i].size());
  }
  PgResult result(PQexecParams(conn_, sql.c_str(), static_cast<int>(params.size()), nullptr,
                               values.data(), lengths.data(), params.binary_.data(),
                               binary_result ? 1 : 0));
  RETURN_IF_ERROR(ResultStatus(result.get(), sql));
  return result;
}

Status PgConnection::ExecScript(const std::string& sql) {
  PGresult* result = PQexec(conn_, sql.c_str());
  Status status = ResultStatus(result, sql);
  PQclear(result);
  return status;
}

Status PgConnection::InTransaction(const std::function<Status()>& body) {
  RETURN_IF_ERROR(ExecScript("BEGIN"));
  Status status = body();
  if (status.ok()) status = ExecScript("COMMIT");
  if (!status.ok()) (void)ExecScript("ROLLBACK");
  return status;
}

Result<std::shared_ptr<PgConnectionPool>> PgConnectionPool::Create(const std::string& dsn,
                                                                   int max_connections) {
  auto pool =
      std::shared_ptr<PgConnectionPool>(new PgConnectionPool(dsn, std::max(1, max_connections)));
  ASSIGN_OR_RETURN(auto first, PgConnection::Connect(dsn));
  pool->idle_.push_back(std::move(first));
  pool->open_ = 1;
  return pool;
}

Result<PgConnectionPool::Handle> PgConnectionPool::Acquire() {
  std::unique_lock lock(mu_);
  available_.wait(lock, [&] { return !idle_.empty() || open_ < max_; });
  if (!idle_.empty()) {
    auto conn = std::move(idle_.back());
    idle_.pop_back();
    lock.unlock();
    if (conn->UsableAfterIdle() || conn->Reset()) return Handle(this, std::move(conn));
    // PostgreSQL is down: drop this connection (a later Acquire opens a fresh one).
    std::string message = PQerrorMessage(conn->raw());
    while (!message.empty() && message.back() == '\n') message.pop_back();
    conn.reset();
    std::lock_guard relock(mu_);
    --open_;
    available_.notify_one();
    return Status(StatusCode::kUnavailable, "cannot reconnect to PostgreSQL: " + message);
  }
  ++open_;
  lock.unlock();
  auto conn = PgConnection::Connect(dsn_);
  if (!conn.ok()) {
    std::lock_guard relock(mu_);
    --open_;
    available_.notify_one();
    return conn.status();
  }
  return Handle(this, std::move(*conn));
}

void PgConnectionPool::Release(std::unique_ptr<PgConnection> conn) {
  std::lock_guard lock(mu_);
  idle_.push_back(std::move(conn));
  available_.notify_one();
}

PgConnectionPool::Handle::~Handle() {
  if (conn_) pool_->Release(std::move(conn_));
}

}  // namespace graphopt::server
